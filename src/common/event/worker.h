// One event loop on one thread (STYLE.md §2).
//
// A Worker owns its uv_loop_t, its buffer pool and a deferred-deletion list (drained by an idle handle). Everything that
// runs on the request path lives on exactly one Worker and is touched only from its thread;
// other threads reach a Worker only through post(), a uv_async_t-backed queue. Nothing on the
// request path takes a lock.
#pragma once

#include <uv.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/buffer/chunk_pool.h"
#include "common/event/uv_handle.h"

namespace lmesh::event {

// Base class for objects freed through Worker::defer_delete().
class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};

class Worker {
 public:
  explicit Worker(size_t index, size_t chunk_size = buffer::ChunkPool::kDefaultChunkSize);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  size_t index() const { return index_; }
  uv_loop_t* loop() { return &loop_; }
  buffer::ChunkPool& chunks() { return chunks_; }

  // Thread-safe. Runs `fn` on this worker's loop thread, in order of posting. Returns false
  // (and drops `fn`) once the worker has stopped accepting work.
  bool post(std::function<void()> fn);

  // Loop thread only. Frees `object` after the current callback chain has unwound: a
  // connection that closes in its own read callback must not free itself there (STYLE.md §4).
  void defer_delete(std::unique_ptr<DeferredDeletable> object);

  // Runs the loop on the calling thread until stop() and every handle is closed. Asserts
  // uv_loop_close() == 0: a handle left open is a leak.
  void run();

  // Starts run() on a thread of its own; join() waits for it.
  void start_thread();
  void join();

  // Loop thread only: stops taking posted work, so run() returns once the owner's handles are
  // closed too. Work posted afterwards is dropped.
  void stop();

 private:
  static void on_async(uv_async_t* a);
  static void on_deferred_idle(uv_idle_t* c);
  void drain_posted();
  bool drain_deferred();  // true if it freed anything

  size_t index_;
  uv_loop_t loop_;
  buffer::ChunkPool chunks_;
  UvHandle<uv_async_t> async_;
  UvHandle<uv_idle_t> deferred_idle_;

  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;  // guarded by posted_mutex_
  bool accepting_ = true;                        // guarded by posted_mutex_

  std::vector<std::unique_ptr<DeferredDeletable>> deferred_;
  std::thread thread_;
};

}  // namespace lmesh::event
