#include "common/metrics/registry.h"

#include <algorithm>
#include <cassert>
#include <type_traits>
#include <utility>

#include "common/metrics/names.h"

namespace lmesh::metrics {

namespace {

[[maybe_unused]] bool valid_label_names(const std::vector<std::string>& names, bool histogram) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (!is_valid_label_name(names[i])) return false;
    if (histogram && names[i] == "le") return false;
    if (std::find(names.begin(), names.begin() + i, names[i]) != names.begin() + i) return false;
  }
  return true;
}

}  // namespace

template <class M>
Family<M>& Registry::add(std::string name, std::string help, std::vector<std::string> label_names,
                         size_t max_series, std::span<const double> upper_bounds) {
  assert(is_valid_metric_name(name));
  assert(valid_label_names(label_names, std::is_same_v<M, Histogram>));
  assert(!contains(name) && "metric family declared twice");
  auto family = std::make_unique<Family<M>>(std::move(name), std::move(help),
                                            std::move(label_names), max_series, upper_bounds);
  Family<M>& ref = *family;
  families_.emplace_back(std::move(family));
  return ref;
}

bool Registry::contains(std::string_view name) const {
  return std::any_of(families_.begin(), families_.end(), [name](const AnyFamily& f) {
    return std::visit([name](const auto& family) { return family->name() == name; }, f);
  });
}

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> label_names, size_t max_series) {
  return add<Counter>(std::move(name), std::move(help), std::move(label_names), max_series, {});
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> label_names, size_t max_series) {
  return add<Gauge>(std::move(name), std::move(help), std::move(label_names), max_series, {});
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> label_names,
                                       std::span<const double> upper_bounds, size_t max_series) {
  return add<Histogram>(std::move(name), std::move(help), std::move(label_names), max_series,
                        upper_bounds);
}

Snapshot Registry::snapshot() const {
  Snapshot s;
  s.families.reserve(families_.size());
  for (const AnyFamily& f : families_) {
    s.families.push_back(std::visit([](const auto& family) { return family->snapshot(); }, f));
  }
  return s;
}

}  // namespace lmesh::metrics
