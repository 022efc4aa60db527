// Merges the event streams of several proxies into one in ts_us order.
//
// Events of different proxies arrive out of order (each proxy flushes on its own schedule, the
// network adds its own delay), so each event is held up to `hold` after its arrival: any
// earlier-stamped event arriving meanwhile still goes out before it. An event is released once
// an event stamped at or after it has been held for `hold`, so order is exact for events that
// arrive within `hold` of each other, and nothing waits much longer than `hold`. Memory is
// bounded: past `max_events` or `max_bytes` held, the earliest events are released at once
// (early, never dropped).
//
// Pure logic, no loop: the caller feeds arrivals and asks for releases with its clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lmesh::tap {

struct MergerLimits {
  std::chrono::milliseconds hold{100};
  size_t max_events = 10'000;
  size_t max_bytes = 8 << 20;
};

class EventMerger {
 public:
  using Clock = std::chrono::steady_clock;

  explicit EventMerger(MergerLimits limits = {}) : limits_(limits) {}

  // `line` is the event as it will be sent; `ts_us` its timestamp.
  void push(int64_t ts_us, std::string line, Clock::time_point now);
  // The events due at `now`, in ts_us order (ties in arrival order).
  std::vector<std::string> release(Clock::time_point now);
  // Everything held, in ts_us order (the stream is ending).
  std::vector<std::string> drain();

  size_t held() const { return held_.size(); }
  size_t held_bytes() const { return bytes_; }

 private:
  using Key = std::pair<int64_t, uint64_t>;  // ts_us, arrival sequence
  void release_up_to(Key cutoff, std::vector<std::string>& out);

  MergerLimits limits_;
  std::map<Key, std::string> held_;
  // Arrivals in arrival order: what decides when the hold of each has passed.
  std::deque<std::pair<Clock::time_point, Key>> arrivals_;
  uint64_t sequence_ = 0;
  size_t bytes_ = 0;
};

}  // namespace lmesh::tap
