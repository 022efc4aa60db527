// One open tap: its filter, its rate limit and the bounded queue between the workers that
// produce its events and the control thread that writes them to the subscriber's stream.
//
// Workers never wait for a subscriber: an event that does not fit (the rate limit, a full
// queue, a client that stopped reading) is dropped and counted, and the subscriber is told how
// many it missed. The lock is held only to move a string in or out of the queue, and only
// while a tap is open.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "common/api/response.h"
#include "common/event/worker.h"
#include "proxy/tap/tap_filter.h"

namespace lmesh::proxy {

// Counters shared by every subscription of one proxy, for /metrics.
struct TapStats {
  std::atomic<uint64_t> opened{0};
  std::atomic<uint64_t> events{0};   // lines written to subscribers
  std::atomic<uint64_t> dropped{0};  // events subscribers missed
};

struct TapLimits {
  // Lines waiting for the control thread; the rate limit keeps it far below this normally.
  size_t queue_bytes = 1 << 20;
  // Bytes the subscriber has not read yet: past it, events are dropped instead of buffered.
  size_t backlog_bytes = 256 << 10;
};

class TapSubscription : public std::enable_shared_from_this<TapSubscription> {
 public:
  TapSubscription(event::Worker& control, TapFilter filter, std::shared_ptr<api::Response> stream,
                  std::shared_ptr<TapStats> stats, TapLimits limits = {});

  const TapFilter& filter() const { return filter_; }

  // Any thread. Whether one more request may be tapped now: within max_rps and with room in
  // the queue. A refusal is counted as one missed event.
  bool admit(uint64_t now_ns);
  // Any thread. Queues one event line for the subscriber (dropped and counted when full).
  void push(std::string line);

  // Control thread. Writes what is queued, and a `dropped` report when events were missed.
  void flush();
  // Control thread. No more events: later pushes are ignored.
  void close();

 private:
  void wake_locked(std::unique_lock<std::mutex>& lock);

  event::Worker& control_;
  const TapFilter filter_;
  std::shared_ptr<api::Response> stream_;  // control thread only
  std::shared_ptr<TapStats> stats_;
  const TapLimits limits_;

  std::mutex mu_;
  double tokens_;
  uint64_t refilled_ns_ = 0;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  uint64_t missed_ = 0;
  bool wake_posted_ = false;
  bool closed_ = false;
};

}  // namespace lmesh::proxy
