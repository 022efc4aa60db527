// One GET /v1/tap: finds the target's pods (and the `to` target's), opens every pod's proxy
// /tap stream, and merges their events into the client's stream (README.md "/v1/tap").
//
// Lifecycle: resolving -> streaming -> finished. It finishes when the client goes away (every
// proxy stream is then closed), when every proxy stream has ended (the merged stream ends
// after its last held events), or on an error answered before the stream began. The owner
// frees a finished session on a later loop turn (it finishes from inside callbacks).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/api/client.h"
#include "common/api/response.h"
#include "common/event/timer.h"
#include "common/event/worker.h"
#include "common/metrics/gauge.h"
#include "tap/event_merger.h"
#include "tap/pod.h"
#include "tap/pod_directory.h"
#include "tap/proxy_stream.h"
#include "tap/tap_admission.h"
#include "tap/tap_identity.h"
#include "tap/tap_metrics.h"
#include "tap/tap_params.h"

namespace lmesh::tap {

class TapSession : public event::DeferredDeletable {
 public:
  using Finished = std::function<void(TapSession*)>;

  TapSession(event::Worker& worker, PodDirectory& directory, const TapIdentity& identity,
             TapMetrics& metrics, TapParams params, std::shared_ptr<api::Response> response,
             Finished finished);
  ~TapSession() override;
  TapSession(const TapSession&) = delete;
  TapSession& operator=(const TapSession&) = delete;

  void start();

 private:
  enum class State { kResolving, kStreaming, kFinished };

  struct Proxy {
    Pod pod;
    std::unique_ptr<ProxyStream> stream;
  };

  void transition(State next);
  void resolved(Result<std::vector<Pod>> pods);
  void resolved_to(Result<std::vector<Pod>> to_pods);
  void fail_before_stream(const Error& why);
  void open_streams(const std::vector<std::string>& to_ips);
  void on_line(size_t proxy, std::string_view line);
  void on_ended(size_t proxy, const Error& why);
  void on_tick();
  void send(std::vector<std::string> lines);
  void finish();

  event::Worker& worker_;
  PodDirectory& directory_;
  const TapIdentity& identity_;
  TapMetrics& metrics_;
  TapParams params_;
  std::shared_ptr<api::Response> response_;
  Finished finished_;
  State state_ = State::kResolving;
  std::unique_ptr<api::Call> lookup_;
  std::unique_ptr<api::Call> lookup_to_;
  std::vector<Pod> pods_;
  std::vector<Proxy> proxies_;
  size_t proxies_ended_ = 0;
  EventMerger merger_;
  TapAdmission admission_;
  event::Timer tick_;
  std::chrono::steady_clock::time_point last_drop_report_;
  metrics::GaugeGuard open_guard_;
};

}  // namespace lmesh::tap
