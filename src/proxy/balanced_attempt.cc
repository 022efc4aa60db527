#include "proxy/balanced_attempt.h"

#include <uv.h>

namespace lmesh::proxy {

void BalancedAttempt::start(ProxyMetrics& metrics, Direction direction, Routed& routed) {
  pick_ = std::move(routed.pick);
  backend_.reset();
  if (!pick_) return;
  metrics_ = &metrics;
  if (!routed.service.empty()) {
    backend_ = metrics.backend(direction, routed.service, routed.backend);
    backend_->requests->inc();
  }
  sent_ns_ = uv_hrtime();
  pick_->start(sent_ns_);
}

void BalancedAttempt::finish(bool success) {
  if (!pick_) return;
  uint64_t now = uv_hrtime();
  pick_->complete(now, now - sent_ns_, success);
  pick_.reset();
  if (backend_) (success ? backend_->successes : backend_->failures)->inc();
}

}  // namespace lmesh::proxy
