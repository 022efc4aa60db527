// One metric name with fixed label names and many series, one per set of label values.
//
// get() is on the request path, but callers are expected to look a series up once (per
// connection, per route) and keep the reference: references stay valid for the family's life
// because series live in the nodes of a node-based map. A lookup of an existing series does not
// allocate: the label values are encoded into a key buffer that the family reuses, and the map
// is searched by string_view.
//
// Label values often come from clients (authority), so a family is bounded: at most
// `max_series` series from callers; after that every new label set shares one overflow series
// whose label values are all "overflow", and values longer than kMaxLabelValueBytes are cut.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/metrics/counter.h"
#include "common/metrics/gauge.h"
#include "common/metrics/histogram.h"
#include "common/metrics/snapshot.h"

namespace lmesh::metrics {

inline constexpr size_t kDefaultMaxSeries = 2000;
// Enough for any DNS name with a port (253 + 6); longer values are cut at a UTF-8 boundary.
inline constexpr size_t kMaxLabelValueBytes = 260;
inline constexpr std::string_view kOverflowLabelValue = "overflow";

namespace detail {

// A label value's length as a varint: at most 2 bytes, since values are cut to
// kMaxLabelValueBytes.
inline constexpr size_t kMaxEncodedLabelBytes = 2 + kMaxLabelValueBytes;
static_assert(kMaxLabelValueBytes < (1 << 14));

// `value` cut to kMaxLabelValueBytes at a UTF-8 character boundary. Out of line, which also
// keeps the compiler from inlining encode_label_value's memcpy as a slow-starting `rep movs`.
std::string_view truncate_label_value(std::string_view value);

// Label values are joined into one key, each preceded by its length as a varint, so that no
// pair of different label sets (not even values containing separators or '\0') share a key.
// Writes at most kMaxEncodedLabelBytes to `out` and returns the end of what it wrote. A raw
// buffer rather than std::string::append, which costs several times more per lookup.
inline char* encode_label_value(char* out, std::string_view value) {
  if (value.size() > kMaxLabelValueBytes) [[unlikely]] {
    value = truncate_label_value(value);
  }
  const size_t n = value.size();
  if (n < 0x80) {
    *out++ = static_cast<char>(n);
  } else {
    *out++ = static_cast<char>(0x80 | (n & 0x7F));
    *out++ = static_cast<char>(n >> 7);
  }
  if (n > 0) std::memcpy(out, value.data(), n);  // a default string_view's data() is null
  return out + n;
}

std::vector<std::string> decode_label_key(std::string_view key);

struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view key) const noexcept {
    return std::hash<std::string_view>{}(key);
  }
};

}  // namespace detail

template <class M>
class Family {
 public:
  // `upper_bounds` is for Family<Histogram> only, and is copied: every series points at it.
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         size_t max_series = kDefaultMaxSeries, std::span<const double> upper_bounds = {});
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // Finds or creates the series for `label_values`, given in the order of label_names().
  M& get(std::initializer_list<std::string_view> label_values) {
    return get(std::span<const std::string_view>(label_values.begin(), label_values.size()));
  }
  M& get(std::span<const std::string_view> label_values) {
    assert(label_values.size() == label_names_.size());
    char* end = key_.get();
    for (std::string_view v : label_values) end = detail::encode_label_value(end, v);
    const std::string_view key(key_.get(), end - key_.get());
    auto it = series_.find(key);
    if (it != series_.end()) return it->second;
    return insert(key);
  }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  size_t max_series() const { return max_series_; }
  // Series held, the overflow series included.
  size_t size() const { return series_.size(); }
  // Lookups of new label sets that were sent to the overflow series since the family was made.
  uint64_t overflowed() const { return overflowed_; }

  FamilySnapshot snapshot() const;

 private:
  M& insert(std::string_view key);  // the cold path of get()
  M& emplace(std::string key);

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  size_t max_series_;
  std::vector<double> upper_bounds_;
  std::unordered_map<std::string, M, detail::KeyHash, std::equal_to<>> series_;
  // Room for the longest key of this family, reused by get() so that lookups do not allocate.
  std::unique_ptr<char[]> key_;
  M* overflow_ = nullptr;
  uint64_t overflowed_ = 0;
};

// Defined in family.cc for these three, so that the cold paths are compiled once.
extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

}  // namespace lmesh::metrics
