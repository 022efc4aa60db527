// The Kubernetes objects the destination service follows, reduced to the fields it uses.
//
// A watch delivers whole objects (a Pod is kilobytes of spec and status, managedFields
// included); the cache keeps only what translate.h reads, so its memory grows with what is
// served, not with what the API server sends. Each parser takes one object as the API server
// wrote it (a list item or a watch event's "object") and refuses a malformed one with a JSON
// Pointer into it ("/spec/ports/0/port: must be between 1 and 65535").
//
// Parsers read only; they never throw (nlohmann's accessors are guarded by type checks).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/discovery/field_error.h"
#include "common/discovery/profile.h"

namespace lmesh::destination::kubernetes {

using discovery::FieldError;
using discovery::Parsed;

// The resources followed, by their plural resource name (what the API paths and the metrics'
// `kind` label say).
enum class Kind { kServices, kEndpointSlices, kPods, kServiceProfiles };
inline constexpr size_t kKinds = 4;
inline constexpr Kind kAllKinds[kKinds] = {Kind::kServices, Kind::kEndpointSlices, Kind::kPods,
                                           Kind::kServiceProfiles};
std::string_view to_string(Kind kind);

// The label an lmesh-injected pod carries (set by the proxy injector): the namespace of the
// control plane it belongs to. A pod with it is "meshed": its proxy holds an identity.
inline constexpr std::string_view kMeshedPodLabel = "lmesh.io/control-plane-ns";
// Service annotation listing ports whose traffic is never protocol-detected: "3306,5432,
// 4000-4100" (DESIGN.md "Kubernetes": config.lmesh.io/*).
inline constexpr std::string_view kOpaquePortsAnnotation = "config.lmesh.io/opaque-ports";
// The label an EndpointSlice's controller sets to the name of its Service.
inline constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";

struct ObjectMeta {
  std::string ns;
  std::string name;
  std::string resource_version;  // empty when the object carries none

  std::string key() const { return ns + "/" + name; }
};

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;
  bool operator==(const PortRange&) const = default;
};

struct ServicePort {
  std::string name;  // "" for the single unnamed port a Service may have
  uint16_t port = 0;
  std::string app_protocol;
  bool operator==(const ServicePort&) const = default;
};

struct ServiceInfo {
  ObjectMeta meta;
  // Empty for a headless Service (clusterIP "None"): it is still served, by name.
  std::vector<std::string> cluster_ips;
  // type ExternalName: a DNS alias with no endpoints; not served (the proxy forwards such
  // traffic to its original destination).
  bool external_name = false;
  std::vector<ServicePort> ports;  // TCP ports only: the mesh does not carry UDP or SCTP
  std::vector<PortRange> opaque_ports;
};

struct SlicePort {
  std::string name;
  uint16_t port = 0;
  bool operator==(const SlicePort&) const = default;
};

struct SliceEndpoint {
  std::vector<std::string> addresses;  // IP literals, as the slice gives them
  std::string zone;
  std::string node;
  std::string pod_ns;  // targetRef, when it is a Pod
  std::string pod;
  bool operator==(const SliceEndpoint&) const = default;
};

struct EndpointSliceInfo {
  ObjectMeta meta;
  std::string service;                   // kServiceNameLabel; empty when no Service owns the slice
  std::vector<SlicePort> ports;          // TCP ports with a number only
  std::vector<SliceEndpoint> endpoints;  // ready ones only (conditions.ready != false)
};

struct PodInfo {
  ObjectMeta meta;
  bool meshed = false;
  std::string service_account;  // spec.serviceAccountName, "default" when unset
  // For GET /v1/pods only (pod_owner.h, translate.h pod_spec()):
  std::string ip;        // status.podIP; empty until the pod has one
  std::string workload;  // "deploy/web", "statefulset/db", "pod/<name>"

  // What endpoints' identities are made of: only a change of it touches any Service.
  bool same_identity(const PodInfo& o) const {
    return meshed == o.meshed && service_account == o.service_account;
  }
  bool operator==(const PodInfo& o) const {
    return same_identity(o) && ip == o.ip && workload == o.workload;
  }
};

struct ServiceProfileInfo {
  ObjectMeta meta;
  discovery::Profile profile;
};

Parsed<ObjectMeta> parse_meta(const nlohmann::json& object);
Parsed<ServiceInfo> parse_service(const nlohmann::json& object);
Parsed<EndpointSliceInfo> parse_endpoint_slice(const nlohmann::json& object);
Parsed<PodInfo> parse_pod(const nlohmann::json& object);
// The ServiceProfile's spec is exactly the /v1/profile JSON shape (errors point under /spec).
Parsed<ServiceProfileInfo> parse_service_profile(const nlohmann::json& object);

// "5432, 6379,4000-4100" -> ranges; the annotation's grammar (no names: a Service's ports are
// numbers to the proxy).
Parsed<std::vector<PortRange>> parse_port_ranges(std::string_view text);

}  // namespace lmesh::destination::kubernetes
