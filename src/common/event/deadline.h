// A deadline that can move on every request for the price of two stores.
//
// Connections reset their deadlines per request (idle → in flight → idle). Re-arming a libuv
// timer each time is a heap removal and insertion; on a proxy that aims at a few microseconds
// of CPU per request that is worth avoiding. A Deadline keeps the wanted expiry in a field and
// leaves the timer alone unless the new expiry is earlier than the armed one. When the timer
// fires, it checks the field: expired → callback; moved later → re-arm for the rest; cleared →
// nothing. In steady state a connection's timer fires about once per timeout period.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>

#include "common/event/uv_handle.h"

namespace lmesh::event {

class Deadline {
 public:
  Deadline(uv_loop_t* loop, std::function<void()> on_expired);

  // Expire `after` from now (loop time); a zero duration clears instead (a disabled timeout).
  void set(std::chrono::milliseconds after);
  void clear() { expiry_ms_ = 0; }
  bool pending() const { return expiry_ms_ != 0; }

 private:
  static void on_timer(uv_timer_t* t);
  void arm_until(uint64_t when_ms);

  uv_loop_t* loop_;
  UvHandle<uv_timer_t> timer_;
  std::function<void()> on_expired_;
  uint64_t expiry_ms_ = 0;  // loop time; 0 = no deadline
  uint64_t armed_ms_ = 0;   // when the timer fires; 0 = not armed
};

}  // namespace lmesh::event
