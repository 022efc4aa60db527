#include "common/event/deadline.h"

#include <cassert>

namespace lmesh::event {

Deadline::Deadline(uv_loop_t* loop, std::function<void()> on_expired)
    : loop_(loop), on_expired_(std::move(on_expired)) {
  [[maybe_unused]] int rc = timer_.init(uv_timer_init, loop);
  assert(rc == 0);
  timer_.get()->data = this;
}

void Deadline::set(std::chrono::milliseconds after) {
  if (after.count() <= 0) {
    clear();
    return;
  }
  expiry_ms_ = uv_now(loop_) + static_cast<uint64_t>(after.count());
  if (armed_ms_ == 0 || expiry_ms_ < armed_ms_) arm_until(expiry_ms_);
}

void Deadline::arm_until(uint64_t when_ms) {
  uint64_t now = uv_now(loop_);
  armed_ms_ = when_ms;
  uv_timer_start(timer_.get(), &Deadline::on_timer, when_ms > now ? when_ms - now : 0, 0);
}

void Deadline::on_timer(uv_timer_t* t) {
  auto* self = static_cast<Deadline*>(t->data);
  if (self == nullptr) return;
  self->armed_ms_ = 0;
  if (self->expiry_ms_ == 0) return;
  if (uv_now(self->loop_) < self->expiry_ms_) {
    self->arm_until(self->expiry_ms_);
    return;
  }
  self->expiry_ms_ = 0;
  self->on_expired_();
}

}  // namespace lmesh::event
