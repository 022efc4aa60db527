#include "proxy/discovery/discovery_cache.h"

#include <uv.h>

#include <algorithm>

namespace lmesh::proxy {

namespace {

uint64_t now_ns() {
  return uv_hrtime();
}

}  // namespace

DiscoveryCache::PendingLookup::PendingLookup(DiscoveryCache& cache, Service& service,
                                             bool for_endpoints,
                                             std::function<void(Result<Service*>)> done)
    : cache_(cache),
      service_(&service),
      for_endpoints_(for_endpoints),
      done_(std::move(done)),
      timeout_(cache.worker_.loop(), [this] { timed_out(); }) {
  service.waiting.push_back(this);
  timeout_.arm(for_endpoints ? cache.timeouts_.failfast : cache.timeouts_.answer);
}

void DiscoveryCache::PendingLookup::timed_out() {
  if (service_ == nullptr) return;
  if (for_endpoints_) {
    cache_.fail_fast(*service_);  // finishes this wait too
    return;
  }
  finish(fail(ErrorCode::kTimeout, "the destination service did not answer for " +
                                       service_->authority + " in " +
                                       std::to_string(cache_.timeouts_.answer.count()) + " ms"));
}

DiscoveryCache::PendingLookup::~PendingLookup() {
  if (service_ != nullptr) std::erase(service_->waiting, this);
}

void DiscoveryCache::PendingLookup::finish(Result<Service*> answer) {
  if (service_ == nullptr) return;
  std::erase(service_->waiting, this);
  service_ = nullptr;
  timeout_.disarm();
  // May destroy this lookup (its owner learns the answer and drops it): nothing after.
  auto done = std::move(done_);
  done(std::move(answer));
}

DiscoveryCache::DiscoveryCache(event::Worker& worker, Timeouts timeouts,
                               EndpointIdentities& identities, Ask ask)
    : worker_(worker),
      timeouts_(timeouts),
      identities_(identities),
      ask_(std::move(ask)),
      rng_(static_cast<unsigned>(now_ns() ^ worker.index())),
      not_found_ttl_ns_(
          static_cast<uint64_t>(std::chrono::nanoseconds(timeouts.not_found_ttl).count())),
      sweep_timer_(std::make_unique<event::Timer>(worker.loop(), [this] { sweep(); })) {
  sweep_timer_->arm(timeouts.not_found_ttl);
}

void DiscoveryCache::sweep() {
  const uint64_t now = now_ns();
  std::erase_if(services_, [&](const auto& entry) {
    const Service& s = *entry.second;
    // Resolved services stay (their number is the mesh's); so does anything a request waits on.
    if (s.resolved() || !s.waiting.empty()) return false;
    return now - std::max(s.asked_ns, s.used_ns) >= 2 * not_found_ttl_ns_;
  });
  if (sweep_timer_) sweep_timer_->arm(std::chrono::milliseconds(not_found_ttl_ns_ / 1'000'000));
}

DiscoveryCache::~DiscoveryCache() {
  // Owners drop their lookups before the cache goes; detach any left so none touches it.
  for (auto& [_, s] : services_) {
    for (PendingLookup* p : s->waiting) {
      p->service_ = nullptr;
      p->timeout_.disarm();
    }
  }
}

DiscoveryCache::Service& DiscoveryCache::entry(std::string_view authority) {
  auto it = services_.find(std::string(authority));
  if (it != services_.end()) return *it->second;
  auto s = std::make_unique<Service>();
  s->authority = std::string(authority);
  Service& ref = *s;
  services_.emplace(ref.authority, std::move(s));
  return ref;
}

DiscoveryCache::Lookup DiscoveryCache::lookup(std::string_view authority,
                                              std::function<void(Result<Service*>)> done) {
  Service& s = entry(authority);
  s.used_ns = now_ns();
  if (s.snapshot == nullptr) {
    if (s.asked_ns == 0) {
      s.asked_ns = now_ns();
      ask_(s.authority);
    }
    return Lookup{nullptr, std::unique_ptr<PendingLookup>(
                               new PendingLookup(*this, s, false, std::move(done)))};
  }
  if (s.resolved()) return Lookup{&s, nullptr};
  // Not found: asked again now and then, in case the service has appeared since; this
  // request does not wait for it.
  if (uint64_t now = now_ns(); now - s.asked_ns >= not_found_ttl_ns_) {
    s.asked_ns = now;
    ask_(s.authority);
  }
  return Lookup{};
}

std::expected<balance::Pick, balance::NoEndpoint> DiscoveryCache::pick(Service& service) {
  return service.balancer.pick(now_ns(), rng_);
}

std::unique_ptr<DiscoveryCache::PendingLookup> DiscoveryCache::await_endpoints(
    Service& service, std::function<void(Result<Service*>)> done) {
  if (service.failing_fast || service.balancer.size() != 0) return nullptr;
  return std::unique_ptr<PendingLookup>(new PendingLookup(*this, service, true, std::move(done)));
}

void DiscoveryCache::fail_fast(Service& s) {
  s.failing_fast = true;
  Error why(ErrorCode::kTimeout, s.authority + ": no endpoints for " +
                                     std::to_string(timeouts_.failfast.count()) +
                                     " ms; failing fast until discovery gives it some");
  // Each finish() may drop other waits of this service: take them one at a time.
  for (;;) {
    auto it = std::ranges::find_if(s.waiting, &PendingLookup::for_endpoints_);
    if (it == s.waiting.end()) break;
    (*it)->finish(std::unexpected(why));
  }
}

void DiscoveryCache::apply(std::shared_ptr<const ServiceSnapshot> snapshot) {
  Service& s = entry(snapshot->authority);
  static const std::vector<discovery::Endpoint> kNone;
  identities_.replace(s.snapshot != nullptr ? s.snapshot->endpoints : kNone, snapshot->endpoints);
  std::vector<balance::BalancerEndpoint> endpoints;
  endpoints.reserve(snapshot->endpoints.size());
  for (const discovery::Endpoint& e : snapshot->endpoints) {
    endpoints.push_back({e.address, e.weight});
  }
  s.balancer.update(endpoints, now_ns());
  if (snapshot->profile != nullptr) {
    const discovery::RetryBudget& b = snapshot->profile->retry_budget;
    if (s.budget == nullptr || s.budget->settings().ratio != b.ratio ||
        s.budget->settings().min_per_second != b.min_per_second ||
        s.budget->settings().ttl_s != b.ttl_s) {
      s.budget = std::make_shared<RetryBudget>(b);
    }
  }
  s.snapshot = std::move(snapshot);
  if (s.asked_ns == 0) s.asked_ns = now_ns();  // published for another worker's question

  Result<Service*> answer = s.resolved() ? &s : nullptr;
  // Requests waiting for endpoints keep waiting while the service is known without any.
  const bool still_empty = s.resolved() && s.balancer.size() == 0;
  if (!still_empty) s.failing_fast = false;
  // Each finish() may drop other lookups of this service: take them one at a time.
  for (;;) {
    auto it = std::ranges::find_if(s.waiting, [still_empty](const PendingLookup* p) {
      return !(p->for_endpoints_ && still_empty);
    });
    if (it == s.waiting.end()) break;
    (*it)->finish(answer);
  }
}

}  // namespace lmesh::proxy
