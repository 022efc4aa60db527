// A value that goes up and down, in one worker's shard.
//
// Signed because shards are summed: a shard may legitimately go below zero if something is
// counted up on one worker and down on another, while the sum stays right.
#pragma once

#include <cstdint>
#include <utility>

namespace lmesh::metrics {

class Gauge {
 public:
  void inc(int64_t n = 1) { value_ += n; }
  void dec(int64_t n = 1) { value_ -= n; }
  void set(int64_t v) { value_ = v; }
  int64_t value() const { return value_; }

 private:
  int64_t value_ = 0;
};

// Holds +1 on a gauge for as long as it lives, so a gauge of open things cannot drift: every
// path that ends the thing, including error paths nobody thought of, runs the destructor
// (STYLE.md §9). A default-constructed or moved-from guard holds nothing.
class GaugeGuard {
 public:
  GaugeGuard() = default;
  explicit GaugeGuard(Gauge& g) : gauge_(&g) { g.inc(); }
  ~GaugeGuard() { reset(); }

  GaugeGuard(const GaugeGuard&) = delete;
  GaugeGuard& operator=(const GaugeGuard&) = delete;
  GaugeGuard(GaugeGuard&& other) noexcept : gauge_(std::exchange(other.gauge_, nullptr)) {}
  GaugeGuard& operator=(GaugeGuard&& other) noexcept {
    if (this != &other) {
      reset();
      gauge_ = std::exchange(other.gauge_, nullptr);
    }
    return *this;
  }

  // Gives the +1 back now, e.g. when a connection closes but its object is freed on a later
  // loop turn (deferred deletion).
  void reset() {
    if (gauge_ != nullptr) std::exchange(gauge_, nullptr)->dec();
  }
  bool active() const { return gauge_ != nullptr; }

 private:
  Gauge* gauge_ = nullptr;
};

}  // namespace lmesh::metrics
