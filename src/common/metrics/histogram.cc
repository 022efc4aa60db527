#include "common/metrics/histogram.h"

#include <array>
#include <numeric>

namespace lmesh::metrics {

namespace {

constexpr std::array<double, 25> kLatencyMsBuckets = {
    1,   2,   3,    4,    5,    10,   20,   30,    40,    50,    100,   200,   300,
    400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000,
};

[[maybe_unused]] bool valid_bounds(std::span<const double> bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) return false;
    if (i > 0 && !(bounds[i - 1] < bounds[i])) return false;
  }
  return true;
}

}  // namespace

std::span<const double> latency_ms_buckets() {
  return kLatencyMsBuckets;
}

Histogram::Histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds), counts_(std::make_unique<uint64_t[]>(upper_bounds.size() + 1)) {
  assert(valid_bounds(upper_bounds) && "bounds must be finite and strictly increasing");
}

uint64_t Histogram::count() const {
  const auto counts = bucket_counts();
  return std::accumulate(counts.begin(), counts.end(), uint64_t{0});
}

}  // namespace lmesh::metrics
