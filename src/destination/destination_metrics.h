// lmesh-destination's metrics. The service runs one loop, so one registry (no shards to merge).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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
  void set_pods(size_t n) { pods_.set(static_cast<int64_t>(n)); }
  // One GET /v1/pods answered with `status` (200, 400 or 404).
  void pods_request(int status) {
    pods_requests_.get({status == 200 ? "200" : status == 404 ? "404" : "400"}).inc();
  }
  // Held up by each follower for as long as it follows (a GaugeGuard), so it cannot drift.
  metrics::Gauge& subscribers(StreamKind kind) { return *subscribers_[index(kind)]; }
  // Lines written to followers, the first line of each stream included.
  void sent(StreamKind kind, uint64_t lines) { updates_[index(kind)]->inc(lines); }
  // One attempt to load the mesh file; `parse_ms` is reading, parsing and checking it (not
  // applying it, whose cost is the fan-out to followers).
  void reloaded(bool ok, double parse_ms);
  // The Kubernetes backend: `n` watch events (or list items) of `kind` ("services", ...),
  // applied or rejected as malformed; and one re-list of `kind` after its watch expired.
  void kubernetes_event(std::string_view kind, bool ok, uint64_t n = 1) {
    kubernetes_events_.get({kind, ok ? "ok" : "rejected"}).inc(n);
  }
  void kubernetes_relisted(std::string_view kind) { kubernetes_relists_.get({kind}).inc(); }

  // The Prometheus text for GET /metrics, process_* metrics included.
  std::string render() const;

 private:
  static size_t index(StreamKind kind) { return static_cast<size_t>(kind); }

  metrics::Registry registry_;
  metrics::Gauge& services_;
  metrics::Gauge& endpoints_;
  metrics::Gauge& pods_;
  metrics::Gauge* subscribers_[kStreamKinds];
  metrics::Counter* updates_[kStreamKinds];
  metrics::Histogram& reload_duration_ms_;
  metrics::Counter* reload_ok_ = nullptr;
  metrics::Counter* reload_error_ = nullptr;
  metrics::Family<metrics::Counter>& kubernetes_events_;
  metrics::Family<metrics::Counter>& kubernetes_relists_;
  metrics::Family<metrics::Counter>& pods_requests_;
};

}  // namespace lmesh::destination
