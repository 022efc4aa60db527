// The rows of a /v1/stat answer (README.md): the target's pods grouped by resource, their
// counters differenced between a fresh scrape and a baseline round, quantiles from the summed
// bucket differences.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tap/pod.h"
#include "tap/stat_history.h"
#include "tap/target.h"

namespace lmesh::tap {

// The resources (kind, name, namespace) that `pod` counts in for a target of `target`'s kind;
// a pod behind two services counts in both rows. A named target keeps only its own row.
struct RowKey {
  std::string kind;
  std::string name;
  std::string namespace_;
  auto operator<=>(const RowKey&) const = default;
};
std::vector<RowKey> row_keys(const Target& target, const Pod& pod);

// `fresh`: the samples of the pods that answered now (by Pod::key()); `baseline`: the round
// to difference against (null: none yet, so no figures); `window_s`: the span between them.
nlohmann::json stat_rows(const Target& target, const std::vector<Pod>& pods,
                         const std::unordered_map<std::string, PodSample>& fresh,
                         const ScrapeRound* baseline, double window_s);

}  // namespace lmesh::tap
