// The whole lmesh-destination process: one worker loop with the store, the backend (the mesh
// file) and the API server; SIGTERM/SIGINT close everything and let the loop end. One loop is
// enough for a controller: a change is a diff and a write per follower, and 1,000 followers
// take a few milliseconds (bench/destination/fanout.cc).
#pragma once

#include <memory>

#include "common/event/worker.h"
#include "common/result.h"
#include "common/service/service_loop.h"
#include "destination/backend.h"
#include "destination/config.h"
#include "destination/destination_metrics.h"
#include "destination/destination_server.h"
#include "destination/store.h"

namespace lmesh::destination {

class DestinationService {
 public:
  explicit DestinationService(DestinationConfig config);
  ~DestinationService();
  DestinationService(const DestinationService&) = delete;
  DestinationService& operator=(const DestinationService&) = delete;

  // Starts the backend (a missing or bad mesh file, or an unusable kubeconfig, refuses to
  // start) and binds the listener, so every misconfiguration fails here, before anything is
  // served. The Kubernetes backend's first lists arrive later; /ready waits for them.
  Result<void> start();
  // Runs the loop until a signal has stopped the service.
  void run();

 private:
  DestinationConfig config_;
  // Declaration order is teardown order in reverse: the worker outlives everything on it, the
  // store outlives the server (whose streams' on_close callbacks point at it).
  event::Worker worker_;
  DestinationMetrics metrics_;
  Store store_;
  std::unique_ptr<DestinationServer> server_;
  std::unique_ptr<Backend> backend_;
  service::ServiceLoop loop_{worker_};
};

}  // namespace lmesh::destination
