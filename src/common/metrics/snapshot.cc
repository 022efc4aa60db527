#include "common/metrics/snapshot.h"

#include <algorithm>
#include <cassert>
#include <compare>
#include <iterator>
#include <utility>

namespace lmesh::metrics {

namespace {

bool same_shape(const FamilySnapshot& a, const FamilySnapshot& b) {
  return a.type == b.type && a.label_names == b.label_names && a.upper_bounds == b.upper_bounds;
}

[[maybe_unused]] bool sorted_by_labels(const std::vector<SeriesSnapshot>& series) {
  return std::is_sorted(series.begin(), series.end(), [](const auto& a, const auto& b) {
    return a.label_values < b.label_values;
  });
}

void add_into(SeriesSnapshot& into, const SeriesSnapshot& from) {
  into.value += from.value;
  assert(into.bucket_counts.size() == from.bucket_counts.size());
  for (size_t i = 0; i < into.bucket_counts.size(); ++i) {
    into.bucket_counts[i] += from.bucket_counts[i];
  }
  into.sum += from.sum;
  into.count += from.count;
}

// A merge join of two lists sorted by label values.
void merge_series(FamilySnapshot& into, const FamilySnapshot& from) {
  assert(sorted_by_labels(into.series) && sorted_by_labels(from.series));
  std::vector<SeriesSnapshot> mine = std::move(into.series);
  std::vector<SeriesSnapshot>& out = into.series;
  out.clear();
  out.reserve(mine.size() + from.series.size());
  auto a = mine.begin();
  auto b = from.series.begin();
  while (a != mine.end() && b != from.series.end()) {
    const auto order = a->label_values <=> b->label_values;
    if (order < 0) {
      out.push_back(std::move(*a++));
    } else if (order > 0) {
      out.push_back(*b++);
    } else {
      add_into(*a, *b++);
      out.push_back(std::move(*a++));
    }
  }
  std::move(a, mine.end(), std::back_inserter(out));
  out.insert(out.end(), b, from.series.end());
}

}  // namespace

std::string_view to_string(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

const SeriesSnapshot* FamilySnapshot::find(const std::vector<std::string>& label_values) const {
  auto it = std::lower_bound(series.begin(), series.end(), label_values,
                             [](const SeriesSnapshot& s, const std::vector<std::string>& v) {
                               return s.label_values < v;
                             });
  return it != series.end() && it->label_values == label_values ? &*it : nullptr;
}

void Snapshot::merge(const Snapshot& other) {
  for (const FamilySnapshot& theirs : other.families) {
    FamilySnapshot* mine = find(theirs.name);
    if (mine == nullptr) {
      families.push_back(theirs);
    } else if (same_shape(*mine, theirs)) {
      merge_series(*mine, theirs);
    } else {
      assert(false && "metric families of one name differ in type, labels or bounds");
    }
  }
}

const FamilySnapshot* Snapshot::find(std::string_view name) const {
  auto it = std::find_if(families.begin(), families.end(),
                         [name](const FamilySnapshot& f) { return f.name == name; });
  return it != families.end() ? &*it : nullptr;
}

FamilySnapshot* Snapshot::find(std::string_view name) {
  return const_cast<FamilySnapshot*>(std::as_const(*this).find(name));
}

}  // namespace lmesh::metrics
