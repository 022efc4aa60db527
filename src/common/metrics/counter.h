// A monotonically increasing count in one worker's shard.
//
// A shard is touched only by its worker's thread (STYLE.md §2), so the count is a plain
// integer: no atomics, no locks. Totals across workers are formed at scrape time by
// Snapshot::merge().
#pragma once

#include <cstdint>

namespace lmesh::metrics {

class Counter {
 public:
  void inc(uint64_t n = 1) { value_ += n; }
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0;
};

}  // namespace lmesh::metrics
