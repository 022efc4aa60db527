// The services of the mesh and the proxies following them, whatever backend feeds it.
//
// Backends describe services (ServiceSpec) through set_service / remove_service (incremental,
// as a Kubernetes watch delivers them) or replace_all (a whole new state, as a reloaded mesh
// file is; diffed against the current one). Every change reaches the followers of the service
// at once as the smallest update the wire allows:
//   /v1/resolve: "add" for new or changed endpoints, then "remove" for gone ones, or
//                {"no_endpoints":true} when the last one went;
//   /v1/profile: the whole profile, only when it changed.
// A new follower first gets the current state: every endpoint in one "add" (or
// no_endpoints), or the current profile (the default one for a service without).
//
// A service that goes away ends its streams: resolve followers get {"no_endpoints":true}, then
// every stream ends. The proxy's watch reconnects and gets 404 "unknown authority" (and falls
// back to the original destination) or, if the service came back meanwhile, its new state.
// Ending rather than keeping a stream open on a name that resolves to nothing keeps the store
// free of followers of names nobody defines. A follower that asked by an alias is ended the
// same way when the alias moves to another service or disappears.
//
// Backends also hand over the pods they know (PodSpec), which GET /v1/pods serves whole: no
// stream follows them, so a pod change is a map update and nothing else.
//
// One loop, no locks: backends and the API run on the same worker.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/metrics/gauge.h"
#include "common/result.h"
#include "destination/destination_metrics.h"
#include "destination/pod_spec.h"
#include "destination/service_spec.h"
#include "destination/stream_sink.h"

namespace lmesh::destination {

using SubscriptionId = uint64_t;
// Pods by (namespace, name): iterated in the order GET /v1/pods answers in.
using PodMap = std::map<std::pair<std::string, std::string>, PodSpec>;

class Store {
 public:
  explicit Store(DestinationMetrics& metrics);
  // Followers are dropped without a last line: their sinks' destructors detach them.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // ---- for backends

  // Adds the service or replaces what is known of it. Refused (nothing changes) when its
  // authority or an alias is not host:port, or a name is already another service's.
  Result<void> set_service(ServiceSpec spec);
  // False when there was no such service.
  bool remove_service(std::string_view authority);
  // The whole mesh at once: services not in `services` are removed, the others set. Refused
  // as a whole (nothing changes) when a name is bad or names two services.
  Result<void> replace_all(std::vector<ServiceSpec> services);
  // The same, and the pods too (all of them: the ones not in `pods` are forgotten). Refused as
  // a whole when a pod is named twice in a namespace, too.
  Result<void> replace_all(std::vector<ServiceSpec> services, std::vector<PodSpec> pods);
  // Adds the pod or replaces what is known of it (by namespace and name).
  void set_pod(PodSpec pod);
  // False when there was no such pod.
  bool remove_pod(const std::string& ns, const std::string& name);
  // What is known of a service (by its authority, normalized), for a backend that updates one
  // part of it (endpoints from one watch, the profile from another); null when unknown.
  const ServiceSpec* find(std::string_view authority) const;
  // The backend has delivered a complete state once (GET /ready answers 200 from then on).
  void set_ready() { ready_ = true; }
  bool ready() const { return ready_; }

  size_t service_count() const { return services_.size(); }
  size_t endpoint_count() const { return endpoint_count_; }

  // ---- for GET /v1/pods

  const PodMap& pods() const { return pods_; }
  // Every service, in no particular order; valid until the next change.
  std::vector<const ServiceSpec*> services() const;

  // ---- for the API

  // The service `name` (its authority or an alias, in any host case) is; kInvalidArgument for
  // a name that is not host:port, kNotFound for one no service has.
  Result<std::string> lookup(std::string_view name) const;
  // Follows the service `name` names: the current state goes to `sink` at once, then every
  // change, until unsubscribe() or the service goes. Errors as lookup(), before any line.
  Result<SubscriptionId> subscribe(StreamKind kind, std::string_view name,
                                   std::unique_ptr<StreamSink> sink);
  // Safe with an id already gone (the stream ended because its service did).
  void unsubscribe(SubscriptionId id);
  size_t subscriber_count() const { return subscribers_.size(); }

 private:
  struct Service {
    ServiceSpec spec;
    std::string profile_line;  // what /v1/profile sends, kept to notice a change
    std::unordered_set<SubscriptionId> followers[kStreamKinds];
  };
  struct Subscriber {
    StreamKind kind;
    std::string asked;      // the name it asked by, normalized (authority or alias)
    std::string authority;  // the service that name led to
    std::unique_ptr<StreamSink> sink;
    metrics::GaugeGuard counted;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  template <class V>
  using ByName = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  // Sets one service (whose names were checked) and tells its followers what changed.
  void apply(ServiceSpec spec);
  void drop(std::string_view authority);
  // Sends `lines` to every follower of `kind` of `service`.
  void broadcast(Service& service, StreamKind kind, const std::vector<std::string>& lines);
  // Ends a follower: its last line, end(), and it is forgotten.
  void finish(SubscriptionId id);
  // Ends followers that asked by an alias that no longer leads to their service.
  void finish_misdirected();
  std::string resolve_name(const std::string& normalized) const;
  void update_gauges();

  DestinationMetrics& metrics_;
  ByName<Service> services_;
  ByName<std::string> aliases_;  // alias -> authority
  std::unordered_map<SubscriptionId, Subscriber> subscribers_;
  PodMap pods_;
  SubscriptionId next_id_ = 1;
  size_t endpoint_count_ = 0;
  bool ready_ = false;
};

// Normalizes the authority and aliases of `specs` and checks that every name names one
// service; the first problem is the error. Exposed for backends that want to check before
// they call replace_all (which checks again).
Result<void> normalize_names(std::vector<ServiceSpec>& specs);

}  // namespace lmesh::destination
