#include "common/event/timer.h"

#include <cassert>

namespace lmesh::event {

Timer::Timer(uv_loop_t* loop, std::function<void()> on_fire) : on_fire_(std::move(on_fire)) {
  [[maybe_unused]] int rc = timer_.init(uv_timer_init, loop);
  assert(rc == 0);  // uv_timer_init cannot fail on a live loop
  timer_.get()->data = this;
}

void Timer::arm(std::chrono::milliseconds after) {
  uv_timer_start(timer_.get(), &Timer::on_timer, static_cast<uint64_t>(after.count()), 0);
}

void Timer::disarm() {
  uv_timer_stop(timer_.get());
}

bool Timer::armed() const {
  return uv_is_active(timer_.handle()) != 0;
}

void Timer::on_timer(uv_timer_t* t) {
  auto* self = static_cast<Timer*>(t->data);
  if (self != nullptr) self->on_fire_();
}

}  // namespace lmesh::event
