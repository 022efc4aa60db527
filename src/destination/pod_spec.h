// What the destination service knows of one pod, for GET /v1/pods (src/tap/README.md
// "lmesh-destination GET /v1/pods"): where its proxy's admin port is, which workload it
// belongs to, and the identity its proxy proves. The tap service turns a target such as
// deploy/web into these records, then taps each pod's proxy.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lmesh::destination {

inline constexpr std::string_view kDefaultNamespace = "default";
inline constexpr uint16_t kProxyAdminPort = 4191;  // DESIGN.md "Ports"

struct PodSpec {
  std::string name;
  std::string ns;  // namespace
  // "<kind>/<name>" of what runs it: "deploy/web", "statefulset/db", "pod/<name>" alone.
  std::string workload;
  std::string service_account = "default";
  // Its proxy's identity; empty for a pod that is not meshed.
  std::string identity;
  // The pod's IP literal; empty while it has none (a Kubernetes pod not scheduled yet).
  std::string addr;
  // Its proxy's admin "IP:port" (brackets for IPv6); empty when addr is.
  std::string admin;

  bool operator==(const PodSpec&) const = default;
};

// "web-1" -> "deploy/web": the workload a replica belongs to when nobody said (`lmesh up`
// names replicas <workload>-<n>). A name without a '-' is its own deployment.
std::string default_workload(std::string_view pod_name);

// Kubernetes' object names, which the mesh file's pods and the targets of /v1/pods use too:
// a namespace is a DNS-1123 label (lower-case letters, digits, '-', at most 63, starting and
// ending with a letter or digit); a pod, workload or service account name a DNS-1123
// subdomain (labels joined by '.', at most 253).
bool is_dns_label(std::string_view text);
bool is_dns_subdomain(std::string_view text);

// The IP literal `text` in its canonical form ("::0001" -> "::1"); nullopt when it is not one.
std::optional<std::string> canonical_ip(std::string_view text);

// "IP:port" for an IP literal, IPv6 in brackets.
std::string admin_address(std::string_view ip, uint16_t port = kProxyAdminPort);

// The wire shape: {"name":...,"namespace":...,"workload":...,"service_account":...,
// "identity":...,"addr":...,"admin":...,"services":[...]}. `services` are the authorities of
// the services with an endpoint on this pod (pod_target.h derives them).
nlohmann::json to_json(const PodSpec& pod, const std::vector<std::string>& services);

}  // namespace lmesh::destination
