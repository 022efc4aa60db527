// The mesh file's top-level `pods:` list: the replicas `lmesh up` starts, for GET /v1/pods
// (src/tap/README.md "Targets").
//
//   pods:
//     - name: web-1                 # required; unique within its namespace
//       namespace: default          # default "default"
//       workload: deploy/web        # default deploy/<name without its last -suffix>
//       service_account: web        # default "default"
//       identity: web.default.serviceaccount.identity.lmesh.cluster.local   # empty: unmeshed
//       addr: 198.18.0.12           # required: the pod's IP
//       admin: 198.18.0.12:4191     # its proxy's admin port; default <addr>:4191
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/discovery/field_error.h"
#include "destination/pod_spec.h"

namespace lmesh::destination {

// `value` is the list (null: no pods); `pointer` is where it is ("/pods"). Unknown fields, a
// bad value and a pod named twice in one namespace are refused with the field's pointer.
discovery::Parsed<std::vector<PodSpec>> parse_mesh_pods(const nlohmann::json& value,
                                                        const std::string& pointer);

// "deployment/web" -> "deploy/web": a workload as `<kind>/<name>`, the kind in lower case and
// deploy's other names folded into it so that deploy/web finds it. nullopt when malformed.
std::optional<std::string> normalize_workload(std::string_view text);

}  // namespace lmesh::destination
