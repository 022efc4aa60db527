// Keeps every proxy's metrics over time for /v1/stat: every --scrape-interval it asks
// lmesh-destination for every pod and scrapes each one's /metrics into StatHistory. A query
// takes a fresh scrape of the target's pods and differences it against the round closest to
// `window` ago (README.md "/v1/stat").
#pragma once

#include <chrono>
#include <memory>
#include <unordered_map>

#include "common/api/client.h"
#include "common/api/response.h"
#include "common/event/timer.h"
#include "common/event/worker.h"
#include "tap/pod_directory.h"
#include "tap/scrape_batch.h"
#include "tap/stat_history.h"
#include "tap/stat_params.h"
#include "tap/tap_identity.h"
#include "tap/tap_metrics.h"

namespace lmesh::tap {

class StatCollector {
 public:
  // Scrapes pods with an identity over mTLS once `identity` holds a certificate.
  StatCollector(event::Worker& worker, PodDirectory& directory, const TapIdentity& identity,
                TapMetrics& metrics, std::chrono::milliseconds interval,
                std::chrono::milliseconds retention);
  ~StatCollector();
  StatCollector(const StatCollector&) = delete;
  StatCollector& operator=(const StatCollector&) = delete;

  // The first round at once, then one per interval.
  void start();
  // No more rounds; queries in flight are dropped (their clients see the connection close).
  void stop();
  void query(StatParams params, std::shared_ptr<api::Response> response);
  // Rounds completed since start: /ready waits for the first.
  uint64_t rounds() const { return rounds_; }

 private:
  class Query;
  void begin_round();
  void scrape_round(Result<std::vector<Pod>> pods);
  void end_round(ScrapeBatch::Samples samples);
  void query_done(Query* query);

  event::Worker& worker_;
  PodDirectory& directory_;
  const TapIdentity& identity_;
  TapMetrics& metrics_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds scrape_timeout_;
  StatHistory history_;
  // Owned through a pointer so that stop() can close it: the loop cannot end while it exists.
  std::unique_ptr<event::Timer> timer_;
  bool stopped_ = false;
  bool round_running_ = false;
  // When the round's scrapes went out, as a Query's own time is: the directory lookup before
  // them can be slow, and a window measured from before it would understate every rate.
  std::chrono::steady_clock::time_point round_scraped_at_;
  std::unique_ptr<api::Call> round_lookup_;
  std::unique_ptr<ScrapeBatch> round_batch_;
  uint64_t rounds_ = 0;
  std::unordered_map<Query*, std::unique_ptr<Query>> queries_;
};

}  // namespace lmesh::tap
