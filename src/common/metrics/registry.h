// The metric families of one worker: its shard (STYLE.md §2, §9).
//
// A Registry is touched only by the thread of the worker that owns it: no locks. At scrape
// time the admin thread posts to each worker, which answers with snapshot(); the admin thread
// merges the snapshots and renders the sum. Process-wide values (certificate expiry, process_*)
// do not belong in worker shards, where they would be summed once per worker: keep them in a
// registry of the admin thread, or append them to the merged snapshot.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/metrics/family.h"
#include "common/metrics/snapshot.h"

namespace lmesh::metrics {

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Declares a family. Names follow the Prometheus data model, are unique within the registry,
  // and histograms may not use the label name "le"; breaking these is a bug, and asserts.
  // The returned reference lives as long as the registry.
  Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> label_names,
                           size_t max_series = kDefaultMaxSeries);
  Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> label_names,
                       size_t max_series = kDefaultMaxSeries);
  Family<Histogram>& histogram(std::string name, std::string help,
                               std::vector<std::string> label_names,
                               std::span<const double> upper_bounds,
                               size_t max_series = kDefaultMaxSeries);

  // Copies every series' current value, families in the order they were declared.
  Snapshot snapshot() const;

 private:
  using AnyFamily = std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>,
                                 std::unique_ptr<Family<Histogram>>>;

  bool contains(std::string_view name) const;
  template <class M>
  Family<M>& add(std::string name, std::string help, std::vector<std::string> label_names,
                 size_t max_series, std::span<const double> upper_bounds);

  std::vector<AnyFamily> families_;
};

}  // namespace lmesh::metrics
