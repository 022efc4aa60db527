// Many deadlines of one fixed length on one timer: a connection's per-request timeouts.
//
// With one length, deadlines expire in the order they were set, so a FIFO list is a priority
// queue: adding and removing an entry is O(1) (an intrusive list), and the only timer is the
// list's Deadline, armed for the front entry. A uv_timer per request costs a heap insert and
// a removal in libuv's timer heap each, which at ten thousand streams showed in profiles.
#pragma once

#include <chrono>
#include <cstdint>

#include "common/event/deadline.h"

namespace lmesh::event {

class DeadlineQueue {
 public:
  // A member of the queue; expire() runs when its time is up. Unlinks itself when destroyed.
  class Entry {
   public:
    Entry() = default;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    virtual ~Entry() { cancel(); }
    bool pending() const { return queue_ != nullptr; }
    void cancel();

   protected:
    virtual void expire() = 0;

   private:
    friend class DeadlineQueue;
    DeadlineQueue* queue_ = nullptr;
    Entry* prev_ = nullptr;
    Entry* next_ = nullptr;
    uint64_t expiry_ms_ = 0;
  };

  // `length` 0 disables: add() then does nothing.
  DeadlineQueue(uv_loop_t* loop, std::chrono::milliseconds length);
  ~DeadlineQueue();
  DeadlineQueue(const DeadlineQueue&) = delete;
  DeadlineQueue& operator=(const DeadlineQueue&) = delete;

  // (Re)starts `entry`'s deadline: `length` from now, at the back of the queue.
  void add(Entry& entry);

 private:
  void remove(Entry& entry);
  void on_timer();

  uv_loop_t* loop_;
  std::chrono::milliseconds length_;
  Deadline timer_;
  Entry* head_ = nullptr;
  Entry* tail_ = nullptr;
};

}  // namespace lmesh::event
