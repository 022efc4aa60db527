// The workload a Kubernetes pod belongs to, as GET /v1/pods names it (src/tap/README.md):
// "deploy/web" for a pod of a Deployment, "<kind lower-cased>/<name>" for another controller
// ("statefulset/db", "daemonset/agent", "job/migrate"), "pod/<name>" for a pod on its own.
// Pure.
#pragma once

#include <string>
#include <string_view>

namespace lmesh::destination::kubernetes {

// The pod's controlling owner reference (ownerReferences[] with controller: true, else the
// first one); empty kind and name when it has none.
struct PodOwner {
  std::string kind;  // "ReplicaSet", "StatefulSet", ...
  std::string name;
};

// The label a Deployment's ReplicaSet controller puts on its pods: the hash its ReplicaSet's
// name ends with ("web-7d9c8b6f5" -> "7d9c8b6f5").
inline constexpr std::string_view kPodTemplateHashLabel = "pod-template-hash";

// `template_hash` is the pod's pod-template-hash label ("" when it has none).
//
// A ReplicaSet is taken to be a Deployment's: the destination service does not watch
// ReplicaSets (their events would cost more than the rare bare ReplicaSet is worth), and the
// Deployment's name is the ReplicaSet's minus "-<pod-template-hash>", or, without that label,
// minus its last "-suffix".
std::string workload_of(const PodOwner& owner, std::string_view pod_name,
                        std::string_view template_hash);

}  // namespace lmesh::destination::kubernetes
