// The proxy's side of `GET /tap` (admin port): opens and closes subscriptions on the control
// thread and tells every worker which taps are open (an immutable list, posted).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "common/api/request.h"
#include "common/api/response.h"
#include "common/event/timer.h"
#include "common/event/worker.h"
#include "common/metrics/snapshot.h"
#include "proxy/tap/tap_access.h"
#include "proxy/tap/tap_subscription.h"
#include "proxy/tap/worker_taps.h"

namespace lmesh::proxy {

class TapHub {
 public:
  // `publish` hands the list of open taps to every worker (on their threads).
  using Publish = std::function<void(std::shared_ptr<const WorkerTaps::Subscribers>)>;

  // `workers`: how many workers tap requests (each gets a share of a tap's max_rps).
  // `access`: who may tap (check_tap_access).
  TapHub(event::Worker& control, size_t workers, Publish publish, TapLimits limits = {},
         TapAccess access = {});
  ~TapHub();
  TapHub(const TapHub&) = delete;
  TapHub& operator=(const TapHub&) = delete;

  // The /tap handler: refuses clients that may not tap, then streams events until the client
  // goes away or close_all().
  void open(const api::Request& request, std::shared_ptr<api::Response> response);
  // Shutdown: every tap ends (its stream is finished) and the workers stop tapping.
  void close_all();

  void append_metrics(metrics::Snapshot& snapshot) const;

 private:
  void remove(const TapSubscription* subscription);
  void publish();
  // While taps are open: every second each is flushed, so that requests the rate limit
  // turned away are reported even when nothing else is tapped.
  void report_every_second();

  event::Worker& control_;
  size_t workers_;
  Publish publish_;
  TapLimits limits_;
  TapAccess access_;
  std::shared_ptr<TapStats> stats_;
  std::vector<std::shared_ptr<TapSubscription>> open_;
  std::unique_ptr<event::Timer> report_timer_;  // exists while taps are open
  // Stream close callbacks may run after this hub is gone (the admin server closes its
  // connections on later loop turns): they hold this weakly.
  std::shared_ptr<TapHub*> self_;
};

}  // namespace lmesh::proxy
