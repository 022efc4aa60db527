// Plain-data copy of metric values, made by a worker for its own shard and handed to the admin
// thread, which merges the shards of all workers and renders the sum.
//
// Values are doubles, as in Prometheus' own data model: integers are exact up to 2^53 (9 PB of
// bytes counted), beyond which the Prometheus server would round them anyway. One type for
// every value keeps merge() and the process_* gauges (CPU seconds) simple.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmesh::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

// The word used on a `# TYPE` line.
std::string_view to_string(MetricType type);

struct SeriesSnapshot {
  std::vector<std::string> label_values;  // in the order of FamilySnapshot::label_names

  double value = 0;  // counter, gauge

  // Histogram only: per bucket, not cumulative; one more than the family's upper_bounds, the
  // last being +Inf.
  std::vector<uint64_t> bucket_counts;
  double sum = 0;
  uint64_t count = 0;
};

struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<std::string> label_names;
  std::vector<double> upper_bounds;  // histogram only, without the implicit +Inf
  // Sorted by label_values, so that merge() is a single pass and output is deterministic.
  std::vector<SeriesSnapshot> series;

  const SeriesSnapshot* find(const std::vector<std::string>& label_values) const;
};

struct Snapshot {
  std::vector<FamilySnapshot> families;  // in registration order

  // Adds `other` into this snapshot: values of series with equal name and label values are
  // summed (counters, gauges, histogram buckets, sum and count); families and series that are
  // new here are added. Families of one name must agree on type, label names and bounds (they
  // come from the same declarations on every worker); a family that does not is skipped, and
  // asserts in debug builds.
  void merge(const Snapshot& other);

  const FamilySnapshot* find(std::string_view name) const;
  FamilySnapshot* find(std::string_view name);
};

}  // namespace lmesh::metrics
