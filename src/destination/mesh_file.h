// The mesh file (`--mesh-file`): the services of a mesh outside Kubernetes, in YAML or JSON.
//
//   services:
//     web.default.svc.cluster.local:8080:
//       aliases: ["web:8080", "198.18.255.1:8080"]
//       endpoints:
//         - {addr: 198.18.0.12:8080, identity: web.default.serviceaccount..., protocol: http1,
//            weight: 1, labels: {pod: web-1}}
//       profile: {routes: [...], retry_budget: {...}, backends: [...]}   # the /v1/profile shape
//   pods:            # the replicas `lmesh up` runs, for GET /v1/pods (mesh_file_pods.h)
//     - {name: web-1, workload: deploy/web, service_account: web, identity: ..., addr: 198.18.0.12}
//   workloads: ...   # for `lmesh up`; accepted and ignored here
//
// Every error names the file, the line and the field, e.g.
//   mesh.yaml:14: services/web.default.svc.cluster.local:8080/profile/routes/0/timeout_ms:
//   must be a whole number
// so that a bad edit is fixed at once; the service keeps its last good state meanwhile.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "destination/pod_spec.h"
#include "destination/service_spec.h"

namespace lmesh::destination {

// Larger files are refused: 10,000 endpoints take about 1 MiB.
inline constexpr size_t kMaxMeshFileBytes = 64 << 20;

// What a mesh file says.
struct MeshFile {
  std::vector<ServiceSpec> services;
  std::vector<PodSpec> pods;  // in the file's order; (namespace, name) unique
};

// `file_name` is how errors name the file (the path as the operator gave it).
Result<MeshFile> parse_mesh_file(std::string_view text, std::string_view file_name);

// The whole file; errors name it and the reason (ENOENT, EACCES, too large).
Result<std::string> read_mesh_file(const std::string& path);

}  // namespace lmesh::destination
