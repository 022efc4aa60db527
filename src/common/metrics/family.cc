#include "common/metrics/family.h"

#include <algorithm>
#include <type_traits>
#include <utility>

namespace lmesh::metrics {

namespace detail {

std::string_view truncate_label_value(std::string_view value) {
  size_t n = std::min(value.size(), kMaxLabelValueBytes);
  if (n < value.size()) {
    while (n > 0 && (static_cast<unsigned char>(value[n]) & 0xC0) == 0x80) --n;
  }
  return value.substr(0, n);
}

std::vector<std::string> decode_label_key(std::string_view key) {
  std::vector<std::string> values;
  size_t pos = 0;
  while (pos < key.size()) {
    size_t length = 0;
    for (int shift = 0;; shift += 7) {
      assert(pos < key.size());
      const auto byte = static_cast<unsigned char>(key[pos++]);
      length |= static_cast<size_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) break;
    }
    assert(pos + length <= key.size());
    values.emplace_back(key.substr(pos, length));
    pos += length;
  }
  return values;
}

}  // namespace detail

namespace {

template <class M>
constexpr MetricType kTypeOf = MetricType::kCounter;
template <>
constexpr MetricType kTypeOf<Gauge> = MetricType::kGauge;
template <>
constexpr MetricType kTypeOf<Histogram> = MetricType::kHistogram;

void copy_value(const Counter& c, SeriesSnapshot& s) {
  s.value = static_cast<double>(c.value());
}
void copy_value(const Gauge& g, SeriesSnapshot& s) {
  s.value = static_cast<double>(g.value());
}
void copy_value(const Histogram& h, SeriesSnapshot& s) {
  const auto counts = h.bucket_counts();
  s.bucket_counts.assign(counts.begin(), counts.end());
  s.sum = h.sum();
  s.count = h.count();
}

}  // namespace

template <class M>
Family<M>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  size_t max_series, std::span<const double> upper_bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      max_series_(max_series),
      upper_bounds_(upper_bounds.begin(), upper_bounds.end()),
      key_(std::make_unique<char[]>(label_names_.size() * detail::kMaxEncodedLabelBytes)) {
  assert(max_series_ > 0);
  assert((std::is_same_v<M, Histogram> || upper_bounds_.empty()));
}

template <class M>
M& Family<M>::emplace(std::string key) {
  if constexpr (std::is_same_v<M, Histogram>) {
    return series_.try_emplace(std::move(key), std::span<const double>(upper_bounds_))
        .first->second;
  } else {
    return series_.try_emplace(std::move(key)).first->second;
  }
}

template <class M>
M& Family<M>::insert(std::string_view key) {
  // The overflow series, once made, is the (max_series + 1)th entry, so this check keeps
  // sending new label sets to it.
  if (series_.size() < max_series_) return emplace(std::string(key));
  ++overflowed_;
  if (overflow_ == nullptr) {
    std::string overflow_key(label_names_.size() * detail::kMaxEncodedLabelBytes, '\0');
    char* end = overflow_key.data();
    for (size_t i = 0; i < label_names_.size(); ++i) {
      end = detail::encode_label_value(end, kOverflowLabelValue);
    }
    overflow_key.resize(end - overflow_key.data());
    overflow_ = &emplace(std::move(overflow_key));
  }
  return *overflow_;
}

template <class M>
FamilySnapshot Family<M>::snapshot() const {
  FamilySnapshot f;
  f.name = name_;
  f.help = help_;
  f.type = kTypeOf<M>;
  f.label_names = label_names_;
  f.upper_bounds = upper_bounds_;
  f.series.reserve(series_.size());
  for (const auto& [key, metric] : series_) {
    SeriesSnapshot& s = f.series.emplace_back();
    s.label_values = detail::decode_label_key(key);
    copy_value(metric, s);
  }
  std::sort(f.series.begin(), f.series.end(),
            [](const auto& a, const auto& b) { return a.label_values < b.label_values; });
  return f;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

}  // namespace lmesh::metrics
