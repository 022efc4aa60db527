// Keeps per-request error logging from flooding: each reason may log one line per second per
// worker; the lines it swallowed are counted into the next one it lets through. Metrics still
// count every event.
#pragma once

#include <array>
#include <cstdint>

#include "proxy/proxy_metrics.h"

namespace lmesh::proxy {

class LogLimiter {
 public:
  static constexpr uint64_t kIntervalMs = 1000;

  // True if a line for `reason` may be logged now; `suppressed` then says how many were not.
  bool allow(ProxyError reason, uint64_t now_ms, uint64_t* suppressed) {
    Slot& s = slots_[static_cast<size_t>(reason)];
    if (s.logged && now_ms - s.last_ms < kIntervalMs) {
      ++s.suppressed;
      return false;
    }
    s.logged = true;
    s.last_ms = now_ms;
    *suppressed = s.suppressed;
    s.suppressed = 0;
    return true;
  }

 private:
  struct Slot {
    bool logged = false;
    uint64_t last_ms = 0;
    uint64_t suppressed = 0;
  };
  std::array<Slot, kProxyErrorCount> slots_{};
};

}  // namespace lmesh::proxy
