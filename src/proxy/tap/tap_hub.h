// The proxy's side of `GET /tap` (admin port): opens and closes subscriptions on the control
// thread and tells every worker which taps are open (an immutable list, posted).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "common/api/request.h"
#include "common/api/response.h"
#include "common/event/worker.h"
#include "common/metrics/snapshot.h"
#include "proxy/tap/tap_subscription.h"
#include "proxy/tap/worker_taps.h"

namespace lmesh::proxy {

class TapHub {
 public:
  // `publish` hands the list of open taps to every worker (on their threads).
  using Publish = std::function<void(std::shared_ptr<const WorkerTaps::Subscribers>)>;

  TapHub(event::Worker& control, Publish publish, TapLimits limits = {});
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

  event::Worker& control_;
  Publish publish_;
  TapLimits limits_;
  std::shared_ptr<TapStats> stats_;
  std::vector<std::shared_ptr<TapSubscription>> open_;
  // Stream close callbacks may run after this hub is gone (the admin server closes its
  // connections on later loop turns): they hold this weakly.
  std::shared_ptr<TapHub*> self_;
};

}  // namespace lmesh::proxy
