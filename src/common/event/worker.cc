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
  check_.init(uv_check_init, &loop_);
  check_.get()->data = this;
}

Worker::~Worker() {
  assert(!thread_.joinable());
  // run() normally closed the loop; a Worker that never ran still owns open handles.
  if (async_.open()) {
    async_.close();
    check_.close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }
}

bool Worker::post(std::function<void()> fn) {
  {
    std::lock_guard lock(posted_mutex_);
    if (!accepting_) return false;
    posted_.push_back(std::move(fn));
  }
  uv_async_send(async_.get());
  return true;
}

void Worker::defer_delete(std::unique_ptr<DeferredDeletable> object) {
  if (deferred_.empty() && check_.open()) uv_check_start(check_.get(), &Worker::on_check);
  deferred_.push_back(std::move(object));
}

void Worker::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  drain_deferred();
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
  drain_deferred();
  async_.close();
  check_.close();
}

void Worker::on_async(uv_async_t* a) {
  auto* self = static_cast<Worker*>(a->data);
  if (self != nullptr) self->drain_posted();
}

void Worker::on_check(uv_check_t* c) {
  auto* self = static_cast<Worker*>(c->data);
  if (self == nullptr) return;
  self->drain_deferred();
  uv_check_stop(c);
}

void Worker::drain_posted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(posted_mutex_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn();
}

void Worker::drain_deferred() {
  // Destructors may defer more objects; keep going until the list stays empty.
  while (!deferred_.empty()) {
    auto batch = std::move(deferred_);
    deferred_.clear();
    batch.clear();
  }
}

}  // namespace lmesh::event
