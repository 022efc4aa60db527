// Renders a Snapshot in the Prometheus text exposition format, version 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
#pragma once

#include <string>

#include "common/metrics/snapshot.h"

namespace lmesh::metrics {

// The Content-Type to serve the result with.
inline constexpr char kPrometheusTextContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// Every family gets # HELP and # TYPE lines, even with no series. Histograms become cumulative
// name_bucket{...,le="..."} lines ending in le="+Inf", then name_sum and name_count. Series are
// written in the snapshot's order (sorted by label values).
std::string render_prometheus(const Snapshot& snapshot);

}  // namespace lmesh::metrics
