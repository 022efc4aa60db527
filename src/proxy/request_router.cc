#include "proxy/request_router.h"

#include <cctype>
#include <random>

#include "proxy/proxy_worker.h"

namespace lmesh::proxy {

namespace {

// True with probability percent/100.
bool chance(double percent, std::minstd_rand& rng) {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return std::uniform_real_distribution<double>(0, 100)(rng) < percent;
}

const discovery::Backend* weighted(const std::vector<discovery::Backend>& backends,
                                   std::minstd_rand& rng) {
  uint64_t total = 0;
  for (const auto& b : backends) total += b.weight;
  if (total == 0) return nullptr;
  uint64_t x = std::uniform_int_distribution<uint64_t>(0, total - 1)(rng);
  for (const auto& b : backends) {
    if (x < b.weight) return &b;
    x -= b.weight;
  }
  return &backends.back();
}

}  // namespace

std::string discovery_authority(const ConnectionTarget& target, const http::RequestHead& request) {
  auto authority = request_authority(request);
  if (!authority) return {};
  auto hp = parse_authority(*authority);
  if (!hp) return {};
  // parse_authority defaults the port to 80; only an explicit one beats the original
  // destination's, which is the port the application really dialled.
  size_t bracket = authority->rfind(']');
  size_t from = bracket == std::string_view::npos ? 0 : bracket;
  bool explicit_port = authority->find(':', from) != std::string_view::npos;
  if (!explicit_port && target.original_destination) {
    hp->port = target.original_destination->port();
  }
  for (char& c : hp->host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return hp->to_string();
}

std::string_view request_path(const http::RequestHead& request) {
  std::string_view target = request.target;
  if (is_absolute_form(target)) {
    target.remove_prefix(target.find("://") + 3);
    size_t slash = target.find_first_of("/?");
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    if (target.front() == '?') return "/";
  }
  return target.substr(0, target.find('?'));
}

void RequestRouter::cancel() {
  lookup_.reset();
  resolution_.reset();
  delay_.reset();
  profile_.reset();
  matched_ = nullptr;
  service_ = nullptr;
}

std::optional<RouteResult> RequestRouter::route(ProxyWorker& worker, Direction direction,
                                                const ConnectionTarget& target,
                                                const http::RequestHead& request, Done done) {
  cancel();
  worker_ = &worker;
  direction_ = direction;
  target_ = &target;
  request_ = &request;
  done_ = std::move(done);
  std::string authority;
  if (direction == Direction::kOutbound && worker.discovery() != nullptr) {
    authority = discovery_authority(target, request);
  }
  if (authority.empty()) return without_discovery();
  return look_up(authority, [this](DiscoveryCache::Service* s) -> std::optional<RouteResult> {
    if (s == nullptr) return without_discovery();
    return on_service(*s);
  });
}

std::optional<RouteResult> RequestRouter::look_up(
    const std::string& authority,
    std::function<std::optional<RouteResult>(DiscoveryCache::Service*)> then) {
  auto found = worker_->discovery()->lookup(
      authority, [this, then](Result<DiscoveryCache::Service*> answer) {
        lookup_.reset();  // answered: spent (this runs from inside it, which allows that)
        if (!answer) {
          finish(fail(ProxyError::kDiscoveryTimeout, answer.error()));
          return;
        }
        finish(then(*answer));
      });
  if (found.pending) {
    lookup_ = std::move(found.pending);
    return std::nullopt;
  }
  return then(found.service);
}

std::optional<RouteResult> RequestRouter::on_service(DiscoveryCache::Service& service) {
  service_ = &service;
  profile_ = service.snapshot->profile;
  const http::RequestHead& req = *request_;
  matched_ = profile_->route_for(req.method, request_path(req),
                                 [&req](std::string_view name) { return req.headers.get(name); });
  if (matched_ != nullptr && matched_->fault) {
    const discovery::Fault& fault = *matched_->fault;
    std::minstd_rand& rng = worker_->discovery()->rng();
    if (chance(fault.abort_percent, rng)) {
      return fail(
          ProxyError::kFaultInjected,
          Error(ErrorCode::kRefused, "route " + matched_->name + " of " + service.authority +
                                         ": abort injected by the service profile"),
          static_cast<uint16_t>(fault.abort_status));
    }
    if (fault.delay_ms > 0 && chance(fault.delay_percent, rng)) {
      DiscoveryCache::Service* s = &service;
      delay_ = std::make_unique<event::Timer>(worker_->worker().loop(),
                                              [this, s] { finish(after_fault(*s)); });
      delay_->arm(std::chrono::milliseconds(fault.delay_ms));
      return std::nullopt;
    }
  }
  return after_fault(service);
}

std::optional<RouteResult> RequestRouter::after_fault(DiscoveryCache::Service& service) {
  const auto& split =
      matched_ != nullptr && !matched_->backends.empty() ? matched_->backends : profile_->backends;
  if (split.empty()) return pick_from(service);
  const discovery::Backend* backend = weighted(split, worker_->discovery()->rng());
  if (backend == nullptr || backend->authority == service.authority) return pick_from(service);
  std::string name = backend->authority;
  return look_up(name, [this, name](DiscoveryCache::Service* b) -> std::optional<RouteResult> {
    if (b == nullptr) {
      return fail(ProxyError::kNoEndpoints,
                  Error(ErrorCode::kNotFound, "traffic split backend " + name +
                                                  " is unknown to the destination service"));
    }
    return pick_from(*b);
  });
}

std::optional<RouteResult> RequestRouter::pick_from(DiscoveryCache::Service& backend) {
  DiscoveryCache& cache = *worker_->discovery();
  auto pick = cache.pick(backend);
  if (!pick && pick.error().reason == balance::NoEndpoint::Reason::kNoEndpoints) {
    auto wait = cache.await_endpoints(
        backend, [this, name = backend.authority](Result<DiscoveryCache::Service*> answer) {
          lookup_.reset();  // answered: spent (this runs from inside it, which allows that)
          if (!answer) {
            finish(fail(ProxyError::kNoEndpoints, answer.error()));
          } else if (*answer == nullptr) {
            finish(fail(ProxyError::kNoEndpoints,
                        Error(ErrorCode::kNotFound,
                              name + " is no longer known to the destination service")));
          } else {
            finish(pick_from(**answer));
          }
        });
    if (wait) {
      lookup_ = std::move(wait);
      return std::nullopt;
    }
  }
  if (!pick) {
    return fail(ProxyError::kNoEndpoints,
                Error(ErrorCode::kRefused, backend.authority + ": " + pick.error().describe()));
  }
  Routed r{pick->address(),     std::move(*pick),  {profile_, matched_},
           service_->authority, backend.authority, service_->budget};
  return r;
}

std::unexpected<RouteFailure> RequestRouter::fail(ProxyError reason, Error cause,
                                                  uint16_t status) const {
  RouteFailure failure{reason, std::move(cause), status, {}, {}};
  if (service_ != nullptr) {
    failure.matched = {profile_, matched_};
    failure.service = service_->authority;
  }
  return std::unexpected(std::move(failure));
}

std::optional<RouteResult> RequestRouter::without_discovery() {
  auto upstream = request_upstream(direction_, *target_, *request_);
  if (!upstream) {
    return fail(ProxyError::kNoDestination, upstream.error());
  }
  if (upstream->address) return Routed{*upstream->address, std::nullopt, {}, {}, {}, nullptr};
  auto started = net::Resolution::start(worker_->worker().loop(), upstream->name,
                                        [this](Result<net::SocketAddress> r) {
                                          resolution_.reset();  // spent; this runs from inside it
                                          if (!r) {
                                            finish(fail(ProxyError::kConnectFailed, r.error()));
                                          } else {
                                            finish(Routed{*r, std::nullopt, {}, {}, {}, nullptr});
                                          }
                                        });
  if (!started) {
    return fail(ProxyError::kConnectFailed, started.error());
  }
  resolution_ = std::move(*started);
  return std::nullopt;
}

}  // namespace lmesh::proxy
