// Prometheus' histogram_quantile() over cumulative buckets, with its semantics (promql
// quantile.go bucketQuantile): buckets sorted by upper bound, the +Inf bucket required, linear
// interpolation inside the bucket that holds the rank, the lower bound of the first bucket 0
// (unless its upper bound is not positive), and a rank that falls in the +Inf bucket answered
// with the largest finite upper bound.
#pragma once

#include <utility>
#include <vector>

namespace lmesh::tap {

struct Bucket {
  double upper_bound;  // le
  double count;        // cumulative
};

// NaN when there is nothing to answer from (no +Inf bucket, fewer than two buckets, no
// observations); -Inf for q < 0 and +Inf for q > 1, as Prometheus answers.
double histogram_quantile(double q, std::vector<Bucket> buckets);

}  // namespace lmesh::tap
