// The Kubernetes backend's copy of the cluster: Services, EndpointSlices, meshed Pods and
// ServiceProfiles, reduced to what translation reads (objects.h), with the indexes that turn
// one watch event into the few Services it changes:
//   a Service event          -> that Service
//   an EndpointSlice event   -> the Service named by its kubernetes.io/service-name label
//                               (before and after the event)
//   a Pod event              -> the Services whose slices point at the pod (targetRef), and
//                               only when what identity needs (meshed, serviceAccount) changed:
//                               most Pod events are status updates and change nothing here
//                               (the pod's own record, for GET /v1/pods, follows its IP too)
//   a ServiceProfile event   -> the Service its name names (<svc>.<ns>.svc.<cluster-domain>)
// No I/O: the backend feeds it and hands the affected Services' specs to the Store.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "destination/kubernetes/api_messages.h"
#include "destination/kubernetes/objects.h"
#include "destination/pod_spec.h"
#include "destination/service_spec.h"

namespace lmesh::destination::kubernetes {

// An object refused: which one (when its metadata could be read) and why.
struct Rejection {
  std::string object;  // "ns/name", or empty
  discovery::FieldError error;
  // "default/web: /spec/ports/0/port: must be between 1 and 65535"
  std::string describe() const;
};

class ClusterState {
 public:
  explicit ClusterState(std::string cluster_domain) : cluster_domain_(std::move(cluster_domain)) {}

  struct Outcome {
    // Services ("ns/name") whose specs may have changed, each once.
    std::vector<std::string> affected;
    // The object was refused. A ServiceProfile with a bad spec is refused *and* applied: its
    // Service is served without a profile rather than with one nobody wrote.
    std::optional<Rejection> rejected;
    // A pod whose GET /v1/pods record changed (pod_spec_of() gives the new one, or none).
    std::optional<ObjectMeta> pod;
  };

  // One ADDED, MODIFIED or DELETED object of `kind`. A refused object changes nothing (the last
  // good version of it stays), except as said of ServiceProfiles above.
  Outcome apply(Kind kind, EventType type, const nlohmann::json& object);
  // A LIST of `kind`: replaces everything known of that kind. Returns the refused items.
  std::vector<Rejection> replace(Kind kind, const std::vector<nlohmann::json>& items);

  // The specs of the Service "ns/name"; empty when it is unknown (or ExternalName).
  std::vector<ServiceSpec> specs_of(const std::string& service) const;
  // Every Service's specs by Service ("ns/name"), for Store::replace_all. A name (alias) that
  // two Services would claim stays with the first, by namespace/name order, so one conflict (a
  // cluster IP reused while events are in flight) cannot make the store refuse the whole state.
  std::map<std::string, std::vector<ServiceSpec>> all_specs() const;

  // The meshed pod "ns/name" as GET /v1/pods gives it; nullopt when it is not known.
  std::optional<PodSpec> pod_spec_of(const std::string& pod) const;
  // Every meshed pod, for Store::replace_all.
  std::vector<PodSpec> pod_specs() const;

  size_t size(Kind kind) const;

 private:
  Outcome apply_service(EventType type, const nlohmann::json& object);
  Outcome apply_slice(EventType type, const nlohmann::json& object);
  Outcome apply_pod(EventType type, const nlohmann::json& object);
  Outcome apply_profile(EventType type, const nlohmann::json& object);
  // Adds (delta 1) or removes (delta -1) a slice from the indexes.
  void index_slice(const EndpointSliceInfo& slice, int delta);
  void clear(Kind kind);

  std::string cluster_domain_;
  std::map<std::string, ServiceInfo> services_;  // ordered: all_specs() is deterministic
  std::unordered_map<std::string, EndpointSliceInfo> slices_;
  std::unordered_map<std::string, std::set<std::string>> slices_of_service_;
  std::unordered_map<std::string, PodInfo> pods_;  // meshed pods only
  // pod "ns/name" -> service "ns/name" -> how many endpoints of its slices point at the pod
  std::unordered_map<std::string, std::map<std::string, int>> services_of_pod_;
  // ServiceProfiles, by the Service they apply to
  std::unordered_map<std::string, discovery::Profile> profiles_;
};

}  // namespace lmesh::destination::kubernetes
