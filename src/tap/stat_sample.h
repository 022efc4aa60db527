// What /v1/stat needs from one scrape of one proxy (README.md "/v1/stat"): the inbound side's
// request and response counters and latency histogram, series by series, and its open
// inbound connections; and the difference between two such scrapes.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "tap/histogram_quantile.h"
#include "tap/prometheus_parser.h"

namespace lmesh::tap {

// Counter values by series (the labels other than `le`, in a canonical form). Kept per series
// so that a reset of one series is seen as a reset (a sum could hide it).
using SeriesValues = std::unordered_map<std::string, double>;

struct PodSample {
  SeriesValues requests;  // request_total{direction="inbound"}
  SeriesValues success;   // response_total{direction="inbound",classification="success"}
  SeriesValues failure;   // ... classification="failure"
  std::map<double, SeriesValues> buckets;  // response_latency_ms_bucket by le
  double tcp_connections = 0;              // tcp_open_connections{direction="inbound"}
};

// Keeps at most this many series per family of one pod: a proxy that talks to very many
// authorities must not make the history grow without bound. Later series add to one
// overflow series.
inline constexpr size_t kMaxSeriesPerFamily = 1000;

PodSample extract_pod_sample(const std::vector<PromSample>& samples);

// How much a pod's counters grew between two samples.
struct PodDelta {
  double requests = 0;
  double success = 0;
  double failure = 0;
  std::map<double, double> buckets;  // le -> observations in the span (cumulative)

  void add(const PodDelta& other);
  std::vector<Bucket> bucket_list() const;
};

// Prometheus increase() semantics, per series: a series that went down was reset (its proxy
// restarted), so all of its current value is new; a series absent before started at zero.
// Never negative.
double increase(const SeriesValues& now, const SeriesValues& before);
PodDelta difference(const PodSample& now, const PodSample& before);

}  // namespace lmesh::tap
