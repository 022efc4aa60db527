// One attempt of an HTTP request at an endpoint the balancer chose: the pick's clock starts
// when the request goes out, and the outcome (an answer the route calls a success, or a
// failure) goes to the balancer (peak-EWMA, failure accrual) and to the backend_* metrics,
// so a traffic split can be watched per backend service. Both HTTP servers hold one.
#pragma once

#include <cstdint>
#include <optional>

#include "proxy/balance/balancer.h"
#include "proxy/direction.h"
#include "proxy/proxy_metrics.h"
#include "proxy/request_router.h"

namespace lmesh::proxy {

class BalancedAttempt {
 public:
  // Takes `routed`'s pick (if the balancer chose) and starts the attempt now.
  void start(ProxyMetrics& metrics, Direction direction, Routed& routed);
  // The endpoint answered (`success` as the route classifies it) or failed. No-op when no
  // pick is held.
  void finish(bool success);
  // The request was cancelled: that says nothing about the endpoint.
  void cancel() { pick_.reset(); }

 private:
  std::optional<balance::Pick> pick_;
  uint64_t sent_ns_ = 0;
  ProxyMetrics* metrics_ = nullptr;
  std::optional<BackendMetrics> backend_;
};

}  // namespace lmesh::proxy
