// The Kubernetes API server as a backend (--kubernetes true, or --kubeconfig FILE): Services,
// EndpointSlices, meshed Pods and ServiceProfiles are listed and watched (resource_watch.h),
// kept reduced in a ClusterState (cluster_state.h) and turned into ServiceSpecs
// (translate.h) for the Store:
//   - once every kind has been listed: the whole state (Store::replace_all), then set_ready();
//     /ready answers 503 until then, while the API already listens;
//   - afterwards, each event recomputes only the Services it touches (set_service /
//     remove_service per port); the Store diffs, so a follower hears only real changes;
//   - a re-list (after a 410) replaces that kind and the whole state again, diffed;
//   - the meshed Pods are also the Store's pods (GET /v1/pods): with the whole state, then
//     set_pod / remove_pod per Pod event that changes a pod's record.
// A malformed event or object is logged with its kind and reason, counted in
// destination_kubernetes_events_total{kind,result="rejected"}, and skipped: the watch goes on.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/event/timer.h"
#include "common/event/worker.h"
#include "common/result.h"
#include "destination/backend.h"
#include "destination/destination_metrics.h"
#include "destination/kubernetes/api_access.h"
#include "destination/kubernetes/api_connection.h"
#include "destination/kubernetes/cluster_state.h"
#include "destination/kubernetes/resource_watch.h"
#include "destination/store.h"

namespace lmesh::destination::kubernetes {

struct KubernetesOptions {
  ApiServerAccess access;
  std::string cluster_domain = "cluster.local";
  ResourceWatchOptions watch;
};

class KubernetesBackend final : public Backend, private ResourceWatch::Handler {
 public:
  // Connects nothing yet, but checks everything that can be checked at start: the server's
  // address, the CA bundle, the token file.
  static Result<std::unique_ptr<KubernetesBackend>> open(event::Worker& worker, Store& store,
                                                         DestinationMetrics& metrics,
                                                         KubernetesOptions options);
  ~KubernetesBackend() override;

  // Starts the lists and returns: the state arrives later (and /ready with it).
  Result<void> start() override;
  std::string_view name() const override { return "kubernetes"; }

 private:
  KubernetesBackend(event::Worker& worker, Store& store, DestinationMetrics& metrics,
                    std::unique_ptr<ApiConnection> api, KubernetesOptions options);

  void on_listed(Kind kind, std::vector<nlohmann::json> items, bool relist) override;
  void on_event(Kind kind, WatchEvent event) override;
  void on_malformed(Kind kind, const discovery::FieldError& why, std::string_view line) override;

  void rejected(Kind kind, std::string_view what, const Rejection& why);
  // The whole state to the store (first sync, re-lists).
  void publish_all();
  // The specs of these Services ("ns/name") to the store.
  void publish(const std::vector<std::string>& services);
  void set_specs(std::vector<ServiceSpec> specs);

  Store& store_;
  DestinationMetrics& metrics_;
  KubernetesOptions options_;
  // Declared before the watches: they cancel their calls on it when they go.
  std::unique_ptr<ApiConnection> api_;
  ClusterState state_;
  std::array<std::unique_ptr<ResourceWatch>, kKinds> watches_;
  std::array<bool, kKinds> listed_{};
  bool synced_ = false;
  // Service "ns/name" -> the authorities last given to the store for it (one per port), so a
  // port that goes is removed from the store.
  std::unordered_map<std::string, std::vector<std::string>> published_;
  event::Timer trim_;  // returns a big list's memory once its fan-out is written
};

}  // namespace lmesh::destination::kubernetes
