#include "common/event/worker.h"

#include <cassert>
#include <cstdlib>
#include <cstdio>

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
}

Worker::~Worker() {
  assert(!thread_.joinable());
  // run() normally closed the loop; a Worker that never ran still owns open handles.
  if (async_.open()) {
    async_.close();
    deferred_idle_.close();
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
  uv_idle_stop(c);
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
    auto batch = std::move(deferred_);
    deferred_.clear();
    batch.clear();
    freed = true;
  }
  return freed;
}

}  // namespace lmesh::event
