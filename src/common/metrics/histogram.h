// A distribution of observed values in fixed buckets, in one worker's shard.
//
// Buckets are stored non-cumulatively (one increment per observation); the cumulative form
// that the exposition format wants is computed at render time, off the request path.
#pragma once

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace lmesh::metrics {

// linkerd2-proxy's response_latency_ms buckets, so existing dashboards carry over.
std::span<const double> latency_ms_buckets();

class Histogram {
 public:
  // `upper_bounds` must be strictly increasing and finite (+Inf is implicit), and must outlive
  // the histogram: it is not copied, because every series of a family shares one set of
  // bounds. Family<Histogram> owns the bounds of its series.
  explicit Histogram(std::span<const double> upper_bounds);

  // Prometheus' `le` is inclusive: a value equal to a bound belongs to that bound's bucket, so
  // the bucket is the first bound >= v, which is what lower_bound finds.
  void observe(double v) {
    assert(!std::isnan(v));
    const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
    ++counts_[i];
    sum_ += v;
  }

  std::span<const double> upper_bounds() const { return bounds_; }
  // Per bucket, not cumulative; one more than upper_bounds(): the last is the +Inf bucket.
  std::span<const uint64_t> bucket_counts() const { return {counts_.get(), bounds_.size() + 1}; }
  double sum() const { return sum_; }
  // Summed from the buckets rather than kept, to save an add per observation.
  uint64_t count() const;

 private:
  std::span<const double> bounds_;
  std::unique_ptr<uint64_t[]> counts_;
  double sum_ = 0;
};

}  // namespace lmesh::metrics
