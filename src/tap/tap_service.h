// The whole lmesh-tap process: one worker loop with the API server, the open taps and the stat
// collector; SIGTERM/SIGINT close everything and let the loop end (service::ServiceLoop).
// One loop is enough: a tap costs a JSON parse and a write per event, and the total rate is
// capped per tap (max_rps).
#pragma once

#include <memory>

#include "common/event/worker.h"
#include "common/result.h"
#include "common/service/service_loop.h"
#include "tap/config.h"
#include "tap/pod_directory.h"
#include "tap/stat_collector.h"
#include "tap/tap_identity.h"
#include "tap/tap_metrics.h"
#include "tap/tap_server.h"

namespace lmesh::tap {

class TapService {
 public:
  explicit TapService(TapConfig config);
  ~TapService();
  TapService(const TapService&) = delete;
  TapService& operator=(const TapService&) = delete;

  // Binds the listener (a bad --listen fails here, before anything is served), starts the
  // identity client (an unreadable --trust-anchors fails here) and the scrape rounds.
  Result<void> start();
  // Runs the loop until a signal has stopped the service.
  void run();

 private:
  TapConfig config_;
  // Declaration order is teardown order in reverse: the worker outlives everything on it.
  event::Worker worker_;
  TapMetrics metrics_;
  TapIdentity identity_;
  PodDirectory directory_;
  StatCollector stats_;
  std::unique_ptr<TapServer> server_;
  service::ServiceLoop loop_{worker_};  // last: see service_loop.h
};

}  // namespace lmesh::tap
