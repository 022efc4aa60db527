// One open tap: its filter, its rate limit and the bounded queue between the workers that
// produce its events and the control thread that writes them to the subscriber's stream.
//
// Workers never wait for a subscriber: an event that does not fit (the rate limit, a full
// queue, a client that stopped reading) is dropped and counted, and the subscriber is told how
// many it missed. The rate limit is split between the workers, each with a token bucket only
// it touches, so a request the limit turns away costs no lock and no allocation; the lock is
// held only to move a string in or out of the queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/api/response.h"
#include "common/event/worker.h"
#include "proxy/tap/tap_filter.h"

namespace lmesh::proxy {

// Counters shared by every subscription of one proxy, for /metrics.
struct TapStats {
  std::atomic<uint64_t> opened{0};
  std::atomic<uint64_t> events{0};  // lines written to subscribers
  // What subscribers missed, by why: requests over max_rps, events that found the queue full,
  // events dropped because the subscriber had too much unread.
  std::atomic<uint64_t> rate_limited{0};
  std::atomic<uint64_t> queue_full{0};
  std::atomic<uint64_t> slow_reader{0};
};

struct TapLimits {
  // Lines waiting for the control thread; the rate limit keeps it far below this normally.
  size_t queue_bytes = 1 << 20;
  // Bytes the subscriber has not read yet: past it, events are dropped instead of buffered.
  size_t backlog_bytes = 256 << 10;
};

class TapSubscription : public std::enable_shared_from_this<TapSubscription> {
 public:
  // `workers`: how many threads tap (their indexes run from 0 to workers - 1).
  TapSubscription(event::Worker& control, size_t workers, TapFilter filter,
                  std::shared_ptr<api::Response> stream, std::shared_ptr<TapStats> stats,
                  TapLimits limits = {});

  const TapFilter& filter() const { return filter_; }

  // Worker `worker` only. Whether its share of max_rps has a request left now; a request
  // turned away is counted (reported with the next flush).
  bool has_budget(size_t worker, uint64_t now_ns);
  // Any thread, after has_budget(): takes the request, unless the queue is too full for it
  // (then it is counted as missed).
  bool admit(size_t worker);
  // Any thread. Queues one event line for the subscriber (dropped and counted when full).
  void push(std::string line);

  // Control thread. Writes what is queued, and a `dropped` report when events were missed.
  void flush();
  // Control thread. No more events: later pushes are ignored.
  void close();

 private:
  void wake_locked(std::unique_lock<std::mutex>& lock);

  // One per worker, on its own cache line: only that worker reads or writes the tokens.
  struct alignas(64) Bucket {
    double tokens = 0;
    uint64_t refilled_ns = 0;
    std::atomic<uint64_t> rate_limited{0};  // read and reset by flush()
  };

  event::Worker& control_;
  const TapFilter filter_;
  const double worker_rps_;
  std::vector<Bucket> buckets_;
  std::shared_ptr<api::Response> stream_;  // control thread only
  std::shared_ptr<TapStats> stats_;
  const TapLimits limits_;

  std::mutex mu_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  uint64_t queue_full_ = 0;
  bool wake_posted_ = false;
  bool closed_ = false;
};

}  // namespace lmesh::proxy
