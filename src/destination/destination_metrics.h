// lmesh-destination's metrics. The service runs one loop, so one registry (no shards to merge).
#pragma once

#include <cstdint>
#include <string>

#include "common/metrics/registry.h"
#include "destination/stream_sink.h"

namespace lmesh::destination {

class DestinationMetrics {
 public:
  DestinationMetrics();
  DestinationMetrics(const DestinationMetrics&) = delete;
  DestinationMetrics& operator=(const DestinationMetrics&) = delete;

  void set_services(size_t n) { services_.set(static_cast<int64_t>(n)); }
  void set_endpoints(size_t n) { endpoints_.set(static_cast<int64_t>(n)); }
  // Held up by each follower for as long as it follows (a GaugeGuard), so it cannot drift.
  metrics::Gauge& subscribers(StreamKind kind) { return *subscribers_[index(kind)]; }
  // Lines written to followers, the first line of each stream included.
  void sent(StreamKind kind, uint64_t lines) { updates_[index(kind)]->inc(lines); }
  // One attempt to load the mesh file; `parse_ms` is reading, parsing and checking it (not
  // applying it, whose cost is the fan-out to followers).
  void reloaded(bool ok, double parse_ms);

  // The Prometheus text for GET /metrics, process_* metrics included.
  std::string render() const;

 private:
  static size_t index(StreamKind kind) { return static_cast<size_t>(kind); }

  metrics::Registry registry_;
  metrics::Gauge& services_;
  metrics::Gauge& endpoints_;
  metrics::Gauge* subscribers_[kStreamKinds];
  metrics::Counter* updates_[kStreamKinds];
  metrics::Histogram& reload_duration_ms_;
  metrics::Counter* reload_ok_ = nullptr;
  metrics::Counter* reload_error_ = nullptr;
};

}  // namespace lmesh::destination
