// A one-shot timer owned by one object on one worker loop. Re-arming replaces the deadline,
// so a connection keeps one timer and points it at whichever deadline is current (header,
// idle, upstream response).
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>

#include "common/event/uv_handle.h"

namespace lmesh::event {

class Timer {
 public:
  Timer(uv_loop_t* loop, std::function<void()> on_fire);

  void arm(std::chrono::milliseconds after);
  void disarm();
  bool armed() const;

 private:
  static void on_timer(uv_timer_t* t);

  UvHandle<uv_timer_t> timer_;
  std::function<void()> on_fire_;
};

}  // namespace lmesh::event
