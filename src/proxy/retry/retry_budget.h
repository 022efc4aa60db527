// How many retries a service's requests may add (DESIGN.md "Load balancing": retries only
// within the retry budget). Retries are capped at `ratio` of the requests seen over the last
// `ttl_s` seconds, plus `min_per_second` so that a quiet service can still retry at all;
// a failing service therefore sees at most (1 + ratio) times its traffic instead of the
// (1 + max attempts) times that per-request retry limits allow (Linkerd's and Finagle's
// reasoning for budgets over counts).
//
// Per worker, like every other piece of request-path state: each worker's budget holds for
// its own requests, so the ratio holds for the proxy as a whole; the reserve is per worker.
#pragma once

#include <array>
#include <cstdint>

#include "common/discovery/profile.h"

namespace lmesh::proxy {

class RetryBudget {
 public:
  explicit RetryBudget(const discovery::RetryBudget& settings);

  // An original request (not a retry) was sent: it earns `ratio` of a retry.
  void deposit(uint64_t now_ns);
  // True, and the retry is accounted, when the budget allows one more now.
  bool withdraw(uint64_t now_ns);

  const discovery::RetryBudget& settings() const { return settings_; }

 private:
  // The window is kSlots buckets of ttl/kSlots each; expired buckets are cleared lazily.
  static constexpr size_t kSlots = 10;
  struct Slot {
    uint64_t epoch = 0;  // which bucket interval the counts belong to
    uint64_t requests = 0;
    uint64_t retries = 0;
  };
  Slot& current(uint64_t now_ns);

  discovery::RetryBudget settings_;
  uint64_t slot_ns_;
  std::array<Slot, kSlots> slots_{};
};

}  // namespace lmesh::proxy
