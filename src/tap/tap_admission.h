// The tap-wide max_rps (README.md: "the total for the whole tap"). Each proxy is asked for its
// share already, but shares are independent budgets and a proxy may be older or misconfigured,
// so the total is enforced here too: a token bucket per tap admits request_init events, and a
// refused request's later events (same proxy, same id) are refused with it. Refusals are
// counted per tapped request and reported as the tap service's own `dropped` event.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

namespace lmesh::tap {

class TapAdmission {
 public:
  using Clock = std::chrono::steady_clock;

  // A burst of one second's worth (at least one request).
  TapAdmission(double max_rps, Clock::time_point now);

  // Whether an event of `kind` for request `id` of proxy `proxy` goes out.
  bool admit(size_t proxy, std::string_view kind, std::string_view id, Clock::time_point now);
  // Requests refused since the previous call.
  uint64_t take_dropped() { return std::exchange(dropped_, 0); }

 private:
  static constexpr size_t kMaxRefusedTracked = 10'000;

  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
  // Requests whose request_init was refused and whose response_end has not come yet.
  std::unordered_set<std::string> refused_;
  uint64_t dropped_ = 0;
};

}  // namespace lmesh::tap
