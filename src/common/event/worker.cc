#include "common/event/worker.h"

#include <cassert>
#include <cstdio>
#include <cstdlib>

namespace lmesh::event {

Worker::Worker(size_t index, size_t chunk_size) : index_(index), chunks_(chunk_size) {
  if (uv_loop_init(&loop_) != 0) std::abort();  // only fails when out of file descriptors
  loop_.data = this;
  async_.init(uv_async_init, &loop_, &Worker::on_async);
  async_.get()->data = this;
  deferred_idle_.init(uv_idle_init, &loop_);
  deferred_idle_.get()->data = this;
  // Pending deletions alone must not keep the loop alive: objects still waiting to be freed at
  // shutdown are freed by run() after the loop ends.
  uv_unref(deferred_idle_.handle());
  // The prepare and check handles bracket the poll phase, where nearly all writes are queued;
  // both stay active (two function calls per loop turn) and neither keeps the loop alive.
  poll_prepare_.init(uv_prepare_init, &loop_);
  poll_prepare_.get()->data = this;
  uv_prepare_start(poll_prepare_.get(), &Worker::on_poll_prepare);
  uv_unref(poll_prepare_.handle());
  batch_end_check_.init(uv_check_init, &loop_);
  batch_end_check_.get()->data = this;
  uv_check_start(batch_end_check_.get(), &Worker::on_batch_end_check);
  uv_unref(batch_end_check_.handle());
  block_trim_.init(uv_timer_init, &loop_);
  block_trim_.get()->data = this;
  uv_timer_start(block_trim_.get(), &Worker::on_block_trim, kBlockTrimIntervalMs,
                 kBlockTrimIntervalMs);
  uv_unref(block_trim_.handle());
}

void Worker::on_block_trim(uv_timer_t* t) {
  auto* self = static_cast<Worker*>(t->data);
  if (self != nullptr) self->blocks_.trim();
}

void Worker::on_poll_prepare(uv_prepare_t* p) {
  auto* self = static_cast<Worker*>(p->data);
  if (self == nullptr) return;
  self->in_poll_phase_ = true;
  self->turn_time_ns_ = 0;  // the poll's events get a fresh reading
}

BatchEndTask::~BatchEndTask() {
  if (scheduled_on_ != nullptr) scheduled_on_->unschedule(*this);
}

void Worker::at_batch_end(BatchEndTask& task) {
  if (task.scheduled_on_ != nullptr) return;
  task.scheduled_on_ = this;
  task.generation_ = batch_generation_;
  task.prev_ = batch_tail_;
  task.next_ = nullptr;
  if (batch_tail_ != nullptr) {
    batch_tail_->next_ = &task;
  } else {
    batch_head_ = &task;
    // Outside the poll phase (a timer answering 408, say) the next check would come only after
    // the loop's next poll, which may block: make that poll return at once. The batch end
    // itself sees to what its passes leave over.
    if (!in_poll_phase_ && !in_batch_end_ && deferred_idle_.open()) {
      uv_idle_start(deferred_idle_.get(), &Worker::on_deferred_idle);
    }
  }
  batch_tail_ = &task;
}

void Worker::unschedule(BatchEndTask& task) {
  if (task.prev_ != nullptr) task.prev_->next_ = task.next_;
  if (task.next_ != nullptr) task.next_->prev_ = task.prev_;
  if (batch_head_ == &task) batch_head_ = task.next_;
  if (batch_tail_ == &task) batch_tail_ = task.prev_;
  task.prev_ = task.next_ = nullptr;
  task.scheduled_on_ = nullptr;
}

void Worker::on_batch_end_check(uv_check_t* c) {
  auto* self = static_cast<Worker*>(c->data);
  if (self == nullptr) return;
  self->in_poll_phase_ = false;
  self->in_batch_end_ = true;
  // Passes over the list: the tasks scheduled before a pass began (earlier generations) run in
  // it; those they schedule carry the next generation, which the next pass takes. A task freed
  // by another unlinks itself.
  uint64_t pass = self->batch_generation_++;
  int passes = 1;
  while (BatchEndTask* task = self->batch_head_) {
    if (task->generation_ > pass) {
      if (passes == kBatchEndPasses) break;
      ++passes;
      pass = self->batch_generation_++;
    }
    self->unschedule(*task);
    task->on_batch_end();
  }
  self->in_batch_end_ = false;
  self->turn_time_ns_ = 0;  // the next turn's timers read the clock afresh
  // Work left for the next turn: make its poll return at once.
  if (self->batch_head_ != nullptr && self->deferred_idle_.open()) {
    uv_idle_start(self->deferred_idle_.get(), &Worker::on_deferred_idle);
  }
}

Worker::~Worker() {
  assert(!thread_.joinable());
  // run() normally closed the loop; a Worker that never ran still owns open handles.
  if (async_.open()) {
    async_.close();
    deferred_idle_.close();
    poll_prepare_.close();
    batch_end_check_.close();
    block_trim_.close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }
}

bool Worker::post(std::function<void()> fn) {
  // The wake-up happens under the lock: stop() flips accepting_ under the same lock before it
  // closes the async handle, so no sender can be half-way through uv_async_send() on it.
  std::lock_guard lock(posted_mutex_);
  if (!accepting_) return false;
  posted_.push_back(std::move(fn));
  uv_async_send(async_.get());
  return true;
}

void Worker::defer_delete(std::unique_ptr<DeferredDeletable> object) {
  // An idle handle, not a check handle: while it is active the loop does not block in poll,
  // so an object deferred from a close callback (the last phase of a loop turn) is freed on
  // the very next turn instead of whenever the next event happens to arrive.
  if (deferred_.empty() && deferred_idle_.open()) {
    uv_idle_start(deferred_idle_.get(), &Worker::on_deferred_idle);
  }
  deferred_.push_back(std::move(object));
}

void Worker::run() {
  // Objects freed after the last turn may close handles of their own (timers): run the loop
  // again so those close callbacks happen, until nothing is left to free.
  do {
    uv_run(&loop_, UV_RUN_DEFAULT);
  } while (drain_deferred());
  deferred_idle_.close();
  poll_prepare_.close();
  batch_end_check_.close();
  block_trim_.close();
  uv_run(&loop_, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop_);
  if (rc != 0) {
    uv_print_all_handles(&loop_, stderr);
    assert(rc == 0 && "a handle outlived its worker");
  }
}

void Worker::start_thread() {
  thread_ = std::thread([this] { run(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::stop() {
  {
    std::lock_guard lock(posted_mutex_);
    accepting_ = false;
  }
  drain_posted();  // work posted before stop() still runs
  async_.close();
}

void Worker::on_async(uv_async_t* a) {
  auto* self = static_cast<Worker*>(a->data);
  if (self != nullptr) self->drain_posted();
}

void Worker::on_deferred_idle(uv_idle_t* c) {
  auto* self = static_cast<Worker*>(c->data);
  if (self == nullptr) return;
  self->drain_deferred();
  // Writes queued before this turn's poll (by a timer) still need the poll not to block.
  if (self->batch_head_ == nullptr) uv_idle_stop(c);
}

void Worker::drain_posted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(posted_mutex_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn();
}

bool Worker::drain_deferred() {
  // Destructors may defer more objects; keep going until the list stays empty.
  bool freed = false;
  while (!deferred_.empty()) {
    // Swapped with a list kept for the purpose, so neither gives up its storage: this runs
    // every loop turn that freed something.
    deferred_.swap(deferring_);
    deferring_.clear();
    freed = true;
  }
  return freed;
}

}  // namespace lmesh::event
