// What a service's profile asks of one request across all its attempts (DESIGN.md "router:
// authority → profile (route, timeout, retry budget, ...)"): which responses count as
// failures, the route's timeout, whether a failed attempt may be retried, and the
// route_* metrics. Both HTTP servers hold one per request; it is inactive (no route metrics,
// no retries, 5xx are failures) for requests discovery did not route.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "proxy/direction.h"
#include "proxy/proxy_metrics.h"
#include "proxy/request_router.h"
#include "proxy/retry/retry_budget.h"

namespace lmesh::proxy {

// Bodies up to this size are kept while they are sent so that a failed attempt can be
// replayed; a larger body makes the request not retryable (Linkerd's limit too).
constexpr size_t kMaxReplayBytes = 64 * 1024;
// A bound beside the budget, so one request cannot loop when the budget is large.
constexpr unsigned kMaxRetries = 4;

class RequestPolicy {
 public:
  // The request's first routing: its route, budget and metrics hold for every attempt.
  // `rng` draws whether this request is one the route mirrors (null without discovery, when
  // no route can match). The clock is read only when the route has a retry budget.
  void begin(ProxyMetrics& metrics, Direction direction, const Routed& routed,
             std::minstd_rand* rng);
  // A request whose first routing failed after discovery named its service (see
  // RouteFailure): it counts as the route's request, and the proxy's answer as its response.
  void begin(ProxyMetrics& metrics, Direction direction, const RouteFailure& failure);
  void reset() { *this = RequestPolicy(); }

  bool is_failure(int status) const { return matched_.is_failure(status); }
  std::chrono::milliseconds timeout() const { return matched_.timeout(); }
  const MatchedRoute& matched() const { return matched_; }
  // The route lets failed attempts be retried at all (the body and the budget permitting).
  bool retryable() const { return matched_.route != nullptr && matched_.route->retryable; }
  // This request is copied to the route's mirror (drawn once, by the mirror's percent).
  const discovery::Mirror* mirror() const { return mirrored_ ? &*matched_.route->mirror : nullptr; }
  // The body must be kept while it is sent: for a retry's replay or for the mirror.
  bool keeps_body() const { return retryable() || mirrored_; }
  const std::string& dst() const { return dst_; }
  std::string_view route_name() const {
    return matched_.route != nullptr ? std::string_view(matched_.route->name) : "default";
  }

  // An attempt failed (a failure status, or no response). True when another may go: the
  // route is retryable, the body can be replayed, retries are left and the budget allows
  // one, which this then spends. Counts the retry, or its refusal by the budget.
  bool retry(uint64_t now_ns, bool body_replayable);
  unsigned retries() const { return retries_; }

  // The response head the client gets (also one the proxy made), once per request that
  // started at `start_ns` (uv_hrtime). The clock is read only for a request a profile routed:
  // most have none, and a clock read is a noticeable part of a request's CPU.
  void respond(uint16_t status, bool failure, uint64_t start_ns);

 private:
  // Counts the request on its route's metrics; false when discovery did not route it.
  bool count_request(ProxyMetrics& metrics, Direction direction, const MatchedRoute& matched,
                     const std::string& service);

  MatchedRoute matched_;
  std::shared_ptr<RetryBudget> budget_;
  std::optional<ProfileRouteMetrics> metrics_;
  ProxyMetrics* registry_ = nullptr;
  std::string dst_;
  unsigned retries_ = 0;
  bool responded_ = false;
  bool mirrored_ = false;
};

}  // namespace lmesh::proxy
