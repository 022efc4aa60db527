// Reads the Prometheus text exposition format (version 0.0.4) that every proxy's /metrics
// serves (src/common/metrics/prometheus_text.cc writes it): comment lines, samples with
// optional labels (escaped \\ \" \n in values), values including +Inf, -Inf and NaN, and an
// optional timestamp, which is ignored. Histogram series stay separate samples
// (name_bucket{le="..."}, name_sum, name_count); stat_sample.h groups them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace lmesh::tap {

struct PromSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // in the order written
  double value = 0;

  std::optional<std::string_view> label(std::string_view key) const;
};

// A malformed line fails the whole text, naming the line: a scrape that is half understood
// would show figures that are silently wrong.
Result<std::vector<PromSample>> parse_prometheus_text(std::string_view text);

// "+Inf", "-Inf", "NaN" or a decimal/exponent float, as the format writes them.
std::optional<double> parse_prometheus_value(std::string_view text);

}  // namespace lmesh::tap
