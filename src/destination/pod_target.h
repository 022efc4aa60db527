// GET /v1/pods' targets (src/tap/README.md "Targets"): which pods `deploy/web`, `svc/web`,
// `pod/web-1`, `ns/prod` or a bare kind mean, over what a backend gave the Store. Pure: the
// pods and the services in, the matches out, so every rule is unit-tested without a loop.
//
//   deploy/NAME   the pods whose workload is deploy/NAME, in the namespace
//   pod/NAME      that pod
//   svc/NAME      the pods behind the endpoints (labels.pod, and labels.namespace when given)
//                 of every service whose authority's host is NAME, NAME.<ns>, NAME.<ns>.svc or
//                 NAME.<ns>.svc.<cluster domain>, any port
//   ns/NAME       every pod of namespace NAME (namespace= is ignored)
//   KIND alone    every resource of that kind in the namespace: deploy = every pod whose
//                 workload is a deploy/, pod = every pod, svc = the union of svc/NAME for every
//                 NAME a service's host gives in the namespace, ns = every pod
//   no target     every pod
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "destination/pod_spec.h"
#include "destination/service_spec.h"
#include "destination/store.h"

namespace lmesh::destination {

enum class TargetKind { kEverything, kDeploy, kPod, kService, kNamespace };

struct Target {
  TargetKind kind = TargetKind::kEverything;
  std::string name;  // empty: every resource of the kind
  std::string ns;    // where to look; for ns/NAME, NAME

  // How a 404 names it: "deploy/web in namespace default", "ns/prod", "every namespace".
  std::string describe() const;
  bool operator==(const Target&) const = default;
};

// `target` and `ns` as the query gave them (absent or empty: no target, namespace "default").
// kInvalidArgument, saying what is wrong, for an unknown kind, a malformed name or namespace.
Result<Target> parse_target(std::optional<std::string_view> target,
                            std::optional<std::string_view> ns);

struct PodMatch {
  const PodSpec* pod;
  // The authorities of the services with an endpoint on the pod, sorted.
  std::vector<std::string> services;
};

// The pods `target` means, by namespace then name (the order of PodMap).
std::vector<PodMatch> select_pods(const Target& target, const PodMap& pods,
                                  const std::vector<const ServiceSpec*>& services,
                                  std::string_view cluster_domain);

// For a bare `svc` and svc/NAME: the Service name a host gives in namespace `ns` ("web" for
// web, web.<ns>, web.<ns>.svc, web.<ns>.svc.<cluster domain>); nullopt when it is not one of
// the namespace's.
std::optional<std::string> service_name_in(std::string_view host, std::string_view ns,
                                           std::string_view cluster_domain);

}  // namespace lmesh::destination
