// The mesh file `lmesh up` runs (src/cli/README.md "lmesh up"): workloads (a command, its
// ports, replicas, the services it backs) and per-service policy. Pure: text in, typed spec or
// an error naming the file, line and field out, like lmesh-destination's mesh file, whose
// YAML reader and profile checks it reuses so the two files cannot disagree on a profile.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/discovery/endpoint.h"
#include "common/result.h"

namespace lmesh::up {

// The sidecar proxy's ports, beside the app on its address: no workload may declare them.
inline constexpr uint16_t kProxyOutboundPort = 4140;
inline constexpr uint16_t kProxyInboundPort = 4143;
inline constexpr uint16_t kProxyControlPort = 4190;  // Linkerd's; unused, kept free as there
inline constexpr uint16_t kProxyAdminPort = 4191;

struct WorkloadPort {
  uint16_t port = 0;
  discovery::ProtocolHint protocol = discovery::ProtocolHint::kHttp1;

  bool operator==(const WorkloadPort&) const = default;
};

struct WorkloadSpec {
  std::string name;
  std::string namespace_name = "default";
  std::string service_account;  // defaults to the name
  int replicas = 1;
  std::vector<std::string> command;  // argv, `{demo}` already expanded
  std::map<std::string, std::string> env;
  std::vector<WorkloadPort> ports;
  std::vector<std::string> services;  // names in the workload's namespace; defaults to {name}

  bool operator==(const WorkloadSpec&) const = default;
};

// A service's policy: lmesh-destination's profile document, as written (already checked).
struct ServicePolicy {
  std::string name;
  std::string namespace_name;
  nlohmann::json profile;
};

struct MeshSpec {
  std::vector<WorkloadSpec> workloads;
  std::vector<ServicePolicy> services;
};

inline constexpr int kMaxReplicas = 100;

// `demo_dir` replaces `{demo}` in commands and env values. Errors are kInvalidArgument:
// "mesh.yaml:7: workloads/0/replicas: must be a whole number from 0 to 100".
Result<MeshSpec> parse_mesh_spec(std::string_view text, std::string_view file_name,
                                 std::string_view demo_dir);

// The whole file read and parsed (kNotFound / kInvalidArgument naming the path).
Result<MeshSpec> load_mesh_spec(const std::string& path, std::string_view demo_dir);

}  // namespace lmesh::up
