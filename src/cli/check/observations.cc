#include "cli/check/observations.h"

#include "tap/prometheus_parser.h"

namespace lmesh::cli::check {

std::string describe_not_running(const ProcessObservation& process) {
  std::string pid = std::to_string(process.pid);
  switch (process.liveness) {
    case up::Liveness::kAlive: return "";
    case up::Liveness::kNotStarted: return "not started (no pid in state.json)";
    case up::Liveness::kGone: return "process " + pid + " has exited";
    case up::Liveness::kReplaced:
      return "process " + pid + " has exited (the pid now belongs to another process)";
  }
  return "";
}

// lmesh-tap's reader of the exposition format, not a second one: a proxy's /metrics is the same
// text to both.
std::optional<double> metric_value(std::string_view text, std::string_view name) {
  auto samples = tap::parse_prometheus_text(text);
  if (!samples) return std::nullopt;
  for (const tap::PromSample& sample : *samples) {
    if (sample.name == name) return sample.value;
  }
  return std::nullopt;
}

std::optional<std::string> metric_label(std::string_view text, std::string_view name,
                                        std::string_view label) {
  auto samples = tap::parse_prometheus_text(text);
  if (!samples) return std::nullopt;
  for (const tap::PromSample& sample : *samples) {
    if (sample.name != name) continue;
    if (auto value = sample.label(label)) return std::string(*value);
  }
  return std::nullopt;
}

}  // namespace lmesh::cli::check
