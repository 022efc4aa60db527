// lmesh-identity's metrics. The service runs one loop, so one registry (no shards to merge).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/metrics/registry.h"

namespace lmesh::identity {

class IdentityMetrics {
 public:
  IdentityMetrics();

  void issued() { issued_.inc(); }
  void refused(std::string_view reason) { refused_.get({reason}).inc(); }
  void set_issuer_expiry(std::chrono::system_clock::time_point not_after);

  // The Prometheus text for GET /metrics, process_* metrics included.
  std::string render() const;

 private:
  metrics::Registry registry_;
  metrics::Counter& issued_;
  metrics::Family<metrics::Counter>& refused_;
  metrics::Gauge& issuer_expiry_;
};

}  // namespace lmesh::identity
