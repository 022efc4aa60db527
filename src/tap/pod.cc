#include "tap/pod.h"

#include <nlohmann/json.hpp>

namespace lmesh::tap {
namespace {

using nlohmann::json;

std::string string_field(const json& pod, const char* name) {
  auto it = pod.find(name);
  if (it == pod.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

Result<Pod> parse_pod(const json& j) {
  if (!j.is_object()) return fail(ErrorCode::kProtocol, "a pod is not an object");
  Pod pod;
  pod.name = string_field(j, "name");
  pod.namespace_ = string_field(j, "namespace");
  pod.workload = string_field(j, "workload");
  pod.identity = string_field(j, "identity");
  pod.addr = string_field(j, "addr");
  if (pod.name.empty()) return fail(ErrorCode::kProtocol, "a pod has no name");
  if (pod.namespace_.empty()) pod.namespace_ = "default";
  auto admin = net::SocketAddress::parse(string_field(j, "admin"));
  if (!admin) {
    return fail(ErrorCode::kProtocol,
                "pod " + pod.key() + ": bad admin address '" + string_field(j, "admin") + "'");
  }
  pod.admin = *admin;
  if (auto it = j.find("services"); it != j.end() && it->is_array()) {
    for (const json& s : *it) {
      if (s.is_string()) pod.services.push_back(s.get<std::string>());
    }
  }
  return pod;
}

}  // namespace

Result<std::vector<Pod>> parse_pods(std::string_view body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return fail(ErrorCode::kProtocol, "the /v1/pods answer is not a JSON object");
  }
  auto it = doc.find("pods");
  if (it == doc.end() || !it->is_array()) {
    return fail(ErrorCode::kProtocol, "the /v1/pods answer has no pods list");
  }
  std::vector<Pod> pods;
  pods.reserve(it->size());
  for (const json& j : *it) {
    auto pod = parse_pod(j);
    if (!pod) return fail(pod.error());
    pods.push_back(std::move(*pod));
  }
  return pods;
}

}  // namespace lmesh::tap
