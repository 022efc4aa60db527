#include "common/event/deadline_queue.h"

namespace lmesh::event {

void DeadlineQueue::Entry::cancel() {
  if (queue_ != nullptr) queue_->remove(*this);
}

DeadlineQueue::DeadlineQueue(uv_loop_t* loop, std::chrono::milliseconds length)
    : loop_(loop), length_(length), timer_(loop, [this] { on_timer(); }) {}

DeadlineQueue::~DeadlineQueue() {
  while (head_ != nullptr) remove(*head_);
}

void DeadlineQueue::add(Entry& entry) {
  entry.cancel();
  if (length_.count() <= 0) return;
  entry.queue_ = this;
  entry.expiry_ms_ = uv_now(loop_) + static_cast<uint64_t>(length_.count());
  entry.prev_ = tail_;
  entry.next_ = nullptr;
  if (tail_ != nullptr) {
    tail_->next_ = &entry;
  } else {
    head_ = &entry;
    timer_.set(length_);
  }
  tail_ = &entry;
}

void DeadlineQueue::remove(Entry& entry) {
  if (entry.prev_ != nullptr) {
    entry.prev_->next_ = entry.next_;
  } else {
    head_ = entry.next_;
  }
  if (entry.next_ != nullptr) {
    entry.next_->prev_ = entry.prev_;
  } else {
    tail_ = entry.prev_;
  }
  entry.queue_ = nullptr;
  entry.prev_ = entry.next_ = nullptr;
  // The timer stays armed for the old front: when it fires early, it re-arms for the new one
  // (cheaper than re-arming on every removal, which is almost every request).
  if (head_ == nullptr) timer_.clear();
}

void DeadlineQueue::on_timer() {
  uint64_t now = uv_now(loop_);
  while (head_ != nullptr && head_->expiry_ms_ <= now) {
    Entry& due = *head_;
    remove(due);
    due.expire();  // may add or remove entries, or destroy `due`
  }
  if (head_ != nullptr) timer_.set(std::chrono::milliseconds(head_->expiry_ms_ - now));
}

}  // namespace lmesh::event
