#include "proxy/retry/request_policy.h"

#include <uv.h>

namespace lmesh::proxy {

void RequestPolicy::begin(ProxyMetrics& metrics, Direction direction, const Routed& routed,
                          std::minstd_rand* rng) {
  if (!count_request(metrics, direction, routed.matched, routed.service)) return;
  budget_ = routed.budget;
  if (matched_.route != nullptr && matched_.route->mirror && rng != nullptr) {
    double percent = matched_.route->mirror->percent;
    mirrored_ = percent >= 100 ||
                (percent > 0 && std::uniform_real_distribution<double>(0, 100)(*rng) < percent);
  }
  // Every request to the service earns retries, retryable or not: the budget is the
  // service's, as in Linkerd.
  if (budget_ != nullptr) budget_->deposit(uv_hrtime());
}

void RequestPolicy::begin(ProxyMetrics& metrics, Direction direction, const RouteFailure& failure) {
  count_request(metrics, direction, failure.matched, failure.service);
}

bool RequestPolicy::count_request(ProxyMetrics& metrics, Direction direction,
                                  const MatchedRoute& matched, const std::string& service) {
  *this = RequestPolicy();
  matched_ = matched;
  dst_ = service;
  if (service.empty()) return false;  // not routed by discovery
  registry_ = &metrics;
  metrics_ = metrics.profile_route(direction, service,
                                   matched.route != nullptr ? matched.route->name : "default");
  metrics_->requests->inc();
  return true;
}

bool RequestPolicy::retry(uint64_t now_ns, bool body_replayable) {
  if (!retryable() || !body_replayable || retries_ >= kMaxRetries || budget_ == nullptr) {
    return false;
  }
  if (!budget_->withdraw(now_ns)) {
    if (metrics_) metrics_->retries_refused->inc();
    return false;
  }
  ++retries_;
  if (metrics_) metrics_->retries->inc();
  return true;
}

void RequestPolicy::respond(uint16_t status, bool failure, uint64_t start_ns) {
  if (responded_ || !metrics_) return;
  responded_ = true;
  metrics_->latency_ms->observe(static_cast<double>(uv_hrtime() - start_ns) / 1e6);
  registry_->profile_route_response(*metrics_, status, failure).inc();
}

}  // namespace lmesh::proxy
