// lmesh-tap's own metrics. The service runs one loop, so one registry (no shards to merge).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/metrics/registry.h"
#include "common/metrics/snapshot.h"

namespace lmesh::tap {

class TapMetrics {
 public:
  TapMetrics();
  TapMetrics(const TapMetrics&) = delete;
  TapMetrics& operator=(const TapMetrics&) = delete;

  // Held up by each open /v1/tap stream (a GaugeGuard), so it cannot drift.
  metrics::Gauge& taps_open() { return taps_open_; }
  void relayed(uint64_t n = 1) { relayed_.inc(n); }
  // Requests refused by a tap's total max_rps (the proxies' own drops are not counted here).
  void dropped(uint64_t n) { dropped_.inc(n); }
  void proxy_error() { proxy_errors_.inc(); }
  void scraped(bool ok) { (ok ? scrape_ok_ : scrape_error_)->inc(); }

  // The Prometheus text for GET /metrics, process_* metrics included, and what `append` adds
  // (the identity client's metrics, which live with it rather than in this registry).
  std::string render(const std::function<void(metrics::Snapshot&)>& append = {}) const;

 private:
  metrics::Registry registry_;
  metrics::Gauge& taps_open_;
  metrics::Counter& relayed_;
  metrics::Counter& dropped_;
  metrics::Counter& proxy_errors_;
  metrics::Counter* scrape_ok_ = nullptr;
  metrics::Counter* scrape_error_ = nullptr;
};

}  // namespace lmesh::tap
