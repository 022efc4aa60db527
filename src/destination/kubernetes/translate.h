// Kubernetes objects -> the ServiceSpecs the Store serves. Pure: no I/O, no clock, so every
// rule here is unit-tested from recorded objects (tests/fixtures/kubernetes/).
//
// One Service with N TCP ports becomes N ServiceSpecs, one per port:
//   authority  <name>.<ns>.svc.<cluster-domain>:<port>
//   aliases    <name>.<ns>:<port>, <name>.<ns>.svc:<port>, <clusterIP>:<port> per cluster IP
//              (a headless Service has none and is served by name only)
//   endpoints  from the Service's EndpointSlices: every address of every ready endpoint, at the
//              slice port whose name is the service port's name (the slice has resolved
//              targetPort, named or numbered, to the pod's port already)
//   identity   <serviceAccount>.<ns>.serviceaccount.identity.lmesh.cluster.local when the
//              endpoint's targetRef is a meshed Pod (objects.h kMeshedPodLabel); else none
//   protocol   opaque when config.lmesh.io/opaque-ports lists the port, else from appProtocol
//              (http: http1; h2c, kubernetes.io/h2c, grpc: http2), else http1
//   labels     pod, namespace, zone, node (the dst_* metric labels)
//   profile    the ServiceProfile named <name>.<ns>.svc.<cluster-domain> in the Service's
//              namespace, for every port
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/discovery/endpoint.h"
#include "destination/kubernetes/objects.h"
#include "destination/pod_spec.h"
#include "destination/service_spec.h"

namespace lmesh::destination::kubernetes {

// What translation reads about one Service.
struct ServiceView {
  const ServiceInfo& service;
  std::vector<const EndpointSliceInfo*> slices;  // in a stable order (by name)
  const discovery::Profile* profile = nullptr;
};

// The meshed pod `ns/name`, or null (unknown, or not meshed).
using FindPod = std::function<const PodInfo*(const std::string& ns, const std::string& name)>;

std::vector<ServiceSpec> translate_service(const ServiceView& view, const FindPod& find_pod,
                                           std::string_view cluster_domain);

// A meshed pod as GET /v1/pods gives it: its identity as its endpoints carry it, its proxy's
// admin port at <podIP>:4191 (none while it has no IP).
PodSpec pod_spec(const PodInfo& pod);

// "<name>.<ns>.svc.<cluster-domain>"
std::string service_fqdn(std::string_view name, std::string_view ns,
                         std::string_view cluster_domain);

discovery::ProtocolHint protocol_hint(const ServiceInfo& service, const ServicePort& port);

// The Service ("ns/name") a ServiceProfile applies to: its name must be the Service's
// fully qualified name in the same namespace; nullopt otherwise.
std::optional<std::string> profile_target(const ObjectMeta& profile,
                                          std::string_view cluster_domain);

}  // namespace lmesh::destination::kubernetes
