#include "tap/stat_sample.h"

#include <algorithm>
#include <string_view>

namespace lmesh::tap {
namespace {

constexpr std::string_view kOverflowSeries = "{overflow}";

// The labels except `le`, sorted, as one string: the same series always gets the same key
// whatever order a proxy writes its labels in.
std::string series_key(const PromSample& s) {
  std::vector<std::pair<std::string_view, std::string_view>> labels;
  labels.reserve(s.labels.size());
  for (const auto& [k, v] : s.labels) {
    if (k != "le") labels.emplace_back(k, v);
  }
  std::sort(labels.begin(), labels.end());
  std::string key;
  for (const auto& [k, v] : labels) {
    key.append(k).append("=").append(v).push_back('\x1f');
  }
  return key;
}

void record(SeriesValues& values, std::string key, double v) {
  if (values.size() >= kMaxSeriesPerFamily && !values.contains(key)) {
    values[std::string(kOverflowSeries)] += v;
    return;
  }
  values[std::move(key)] += v;
}

}  // namespace

PodSample extract_pod_sample(const std::vector<PromSample>& samples) {
  PodSample out;
  for (const PromSample& s : samples) {
    if (s.label("direction") != "inbound") continue;
    if (s.name == "request_total") {
      record(out.requests, series_key(s), s.value);
    } else if (s.name == "response_total") {
      auto cls = s.label("classification");
      if (cls == "success") record(out.success, series_key(s), s.value);
      if (cls == "failure") record(out.failure, series_key(s), s.value);
    } else if (s.name == "response_latency_ms_bucket") {
      auto le = s.label("le");
      if (!le) continue;
      auto bound = parse_prometheus_value(*le);
      if (!bound) continue;
      record(out.buckets[*bound], series_key(s), s.value);
    } else if (s.name == "tcp_open_connections" && s.label("peer").value_or("src") == "src") {
      // Connections to the pod (Linkerd's TCP_CONN), not the proxy's own to the application.
      out.tcp_connections += s.value;
    }
  }
  return out;
}

double increase(const SeriesValues& now, const SeriesValues& before) {
  double total = 0;
  for (const auto& [key, value] : now) {
    auto it = before.find(key);
    if (it == before.end() || value < it->second) {
      total += value;
    } else {
      total += value - it->second;
    }
  }
  return total;
}

PodDelta difference(const PodSample& now, const PodSample& before) {
  PodDelta d;
  d.requests = increase(now.requests, before.requests);
  d.success = increase(now.success, before.success);
  d.failure = increase(now.failure, before.failure);
  static const SeriesValues kNone;
  for (const auto& [le, values] : now.buckets) {
    auto it = before.buckets.find(le);
    d.buckets[le] = increase(values, it == before.buckets.end() ? kNone : it->second);
  }
  return d;
}

void PodDelta::add(const PodDelta& other) {
  requests += other.requests;
  success += other.success;
  failure += other.failure;
  for (const auto& [le, n] : other.buckets) buckets[le] += n;
}

std::vector<Bucket> PodDelta::bucket_list() const {
  std::vector<Bucket> out;
  out.reserve(buckets.size());
  for (const auto& [le, n] : buckets) out.push_back(Bucket{le, n});
  return out;
}

}  // namespace lmesh::tap
