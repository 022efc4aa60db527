#include "tap/stat_rows.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

namespace lmesh::tap {
namespace {

using nlohmann::json;

// "web.default.svc.cluster.local:8080" -> "web".
std::string service_name(std::string_view authority) {
  return std::string(authority.substr(0, authority.find_first_of(".:")));
}

struct RowTotals {
  size_t pods = 0;
  size_t answered = 0;
  bool has_delta = false;
  PodDelta delta;
  double tcp_connections = 0;
};

// NaN (no observations) is not JSON: null says "no figure".
json number_or_null(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

}  // namespace

std::vector<RowKey> row_keys(const Target& target, const Pod& pod) {
  std::vector<RowKey> keys;
  switch (target.kind) {
    case TargetKind::kDeploy:
    case TargetKind::kPod: {
      std::string kind = "pod";
      std::string name = pod.name;
      if (target.kind == TargetKind::kDeploy) {
        auto slash = pod.workload.find('/');
        kind = slash == std::string::npos ? "deploy" : pod.workload.substr(0, slash);
        name = slash == std::string::npos ? pod.workload : pod.workload.substr(slash + 1);
      }
      keys.push_back({std::move(kind), std::move(name), pod.namespace_});
      break;
    }
    case TargetKind::kSvc:
      for (const std::string& authority : pod.services) {
        RowKey key{"svc", service_name(authority), pod.namespace_};
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
      }
      break;
    case TargetKind::kNs: keys.push_back({"ns", pod.namespace_, pod.namespace_}); break;
  }
  if (!target.name.empty() && target.kind != TargetKind::kNs) {
    std::erase_if(keys, [&](const RowKey& k) { return k.name != target.name; });
  }
  return keys;
}

json stat_rows(const Target& target, const std::vector<Pod>& pods,
               const std::unordered_map<std::string, PodSample>& fresh, const ScrapeRound* baseline,
               double window_s) {
  std::map<RowKey, RowTotals> rows;
  for (const Pod& pod : pods) {
    for (const RowKey& key : row_keys(target, pod)) {
      RowTotals& row = rows[key];
      ++row.pods;
      auto now = fresh.find(pod.key());
      if (now == fresh.end()) continue;
      ++row.answered;
      row.tcp_connections += now->second.tcp_connections;
      if (baseline == nullptr) continue;
      auto before = baseline->pods.find(pod.key());
      // A pod absent from the baseline (new, or its proxy did not answer then) has no span to
      // difference over: counting its whole counters would inflate the window's figures.
      if (before == baseline->pods.end()) continue;
      row.delta.add(difference(now->second, before->second));
      row.has_delta = true;
    }
  }
  json out = json::array();
  for (const auto& [key, row] : rows) {
    json j = {{"name", key.name},
              {"namespace", key.namespace_},
              {"kind", key.kind},
              {"meshed", std::to_string(row.answered) + "/" + std::to_string(row.pods)},
              {"tcp_connections", row.tcp_connections}};
    const bool figures = row.has_delta && window_s > 0;
    const PodDelta& d = row.delta;
    double responses = d.success + d.failure;
    j["requests"] = figures ? json(d.requests) : json(nullptr);
    j["success_rate"] = figures && responses > 0 ? json(d.success / responses) : json(nullptr);
    j["rps"] = figures ? json(d.requests / window_s) : json(nullptr);
    std::vector<Bucket> buckets = d.bucket_list();
    for (auto [field, q] : {std::pair{"latency_ms_p50", 0.5}, std::pair{"latency_ms_p95", 0.95},
                            std::pair{"latency_ms_p99", 0.99}}) {
      j[field] = figures ? number_or_null(histogram_quantile(q, buckets)) : json(nullptr);
    }
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace lmesh::tap
