// One event loop on one thread (STYLE.md §2).
//
// A Worker owns its uv_loop_t, its buffer and small-block pools and a deferred-deletion list
// (drained by an idle handle). Everything that runs on the request path lives on exactly one Worker
// and is touched only from its thread; other threads reach a Worker only through post(), a
// uv_async_t-backed queue. Nothing on the request path takes a lock.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/buffer/block_pool.h"
#include "common/buffer/chunk_pool.h"
#include "common/event/uv_handle.h"

namespace lmesh::event {

// Base class for objects freed through Worker::defer_delete().
class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};

class Worker;

// Work that waits until every I/O event of the current loop turn has been handled.
//
// Connections queue their writes and flush them here, HAProxy-style: a turn first reads
// everything that is ready, then writes everything that was produced. Peers then receive
// their data in bursts and answer in bursts, so every process on the path (the proxy, its
// clients, its upstreams) wakes up less often, and wake-ups are most of what a loopback hop
// costs in a VM.
class BatchEndTask {
 public:
  virtual void on_batch_end() = 0;

 protected:
  BatchEndTask() = default;
  ~BatchEndTask();
  BatchEndTask(const BatchEndTask&) = delete;
  BatchEndTask& operator=(const BatchEndTask&) = delete;

 private:
  friend class Worker;
  Worker* scheduled_on_ = nullptr;
  uint64_t generation_ = 0;  // the batch it was scheduled for
  BatchEndTask* prev_ = nullptr;
  BatchEndTask* next_ = nullptr;
};

class Worker {
 public:
  // How often the small-block pool gives back what it held unused (BlockPool::trim()): after a
  // burst, a worker is back to what it uses within two intervals.
  static constexpr uint64_t kBlockTrimIntervalMs = 5000;
  // How many times one turn's batch end goes round the tasks scheduled so far. Tasks schedule
  // tasks: an HTTP/2 session produces its frames at batch end and hands them to its socket,
  // which writes at batch end too; the exchange behind a stream may feed the other session.
  // Each pass left to the next turn would hold those bytes behind another poll and its whole
  // batch of events. A bound, so that a task rescheduling itself cannot starve the loop.
  static constexpr int kBatchEndPasses = 4;

  explicit Worker(size_t index, size_t chunk_size = buffer::ChunkPool::kDefaultChunkSize);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  size_t index() const { return index_; }
  uv_loop_t* loop() { return &loop_; }
  buffer::ChunkPool& chunks() { return chunks_; }
  buffer::BlockPool& blocks() { return blocks_; }

  // Thread-safe. Runs `fn` on this worker's loop thread, in order of posting. Returns false
  // (and drops `fn`) once the worker has stopped accepting work.
  bool post(std::function<void()> fn);

  // Loop thread only. Frees `object` after the current callback chain has unwound: a
  // connection that closes in its own read callback must not free itself there (STYLE.md §4).
  void defer_delete(std::unique_ptr<DeferredDeletable> object);

  // Loop thread only. Runs `task.on_batch_end()` once after this turn's I/O events (scheduling
  // it again before then does nothing). Scheduled while batch-end tasks run, it runs in the
  // same turn's batch end, up to kBatchEndPasses deep, and otherwise at the next turn's.
  void at_batch_end(BatchEndTask& task);

  // Loop thread only. uv_hrtime() read once per loop turn and shared by every caller until the
  // turn's I/O batch is done, as Envoy's approximateMonotonicTime(): a request's start and its
  // response head are stamped with it, and an HTTP/2 read brings a hundred heads, each of which
  // would otherwise read the clock (a vDSO call that showed as 3 % of a worker's CPU). Behind
  // the true time by at most what the turn has run so far: for latency metrics, not deadlines.
  uint64_t turn_time_ns() {
    if (turn_time_ns_ == 0) turn_time_ns_ = uv_hrtime();
    return turn_time_ns_;
  }

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
  static void on_batch_end_check(uv_check_t* c);
  static void on_poll_prepare(uv_prepare_t* p);
  static void on_block_trim(uv_timer_t* t);
  friend class BatchEndTask;
  void unschedule(BatchEndTask& task);
  void drain_posted();
  bool drain_deferred();  // true if it freed anything

  size_t index_;
  uv_loop_t loop_;
  buffer::ChunkPool chunks_;
  buffer::BlockPool blocks_;
  UvHandle<uv_async_t> async_;
  UvHandle<uv_idle_t> deferred_idle_;
  UvHandle<uv_prepare_t> poll_prepare_;   // runs right before the poll phase
  UvHandle<uv_check_t> batch_end_check_;  // runs right after the poll phase
  UvHandle<uv_timer_t> block_trim_;       // BlockPool::trim(), every kBlockTrimInterval
  bool in_poll_phase_ = false;
  bool in_batch_end_ = false;
  uint64_t turn_time_ns_ = 0;  // 0: not read yet this turn
  uint64_t batch_generation_ = 0;
  BatchEndTask* batch_head_ = nullptr;
  BatchEndTask* batch_tail_ = nullptr;

  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;  // guarded by posted_mutex_
  bool accepting_ = true;                      // guarded by posted_mutex_

  std::vector<std::unique_ptr<DeferredDeletable>> deferred_;
  std::vector<std::unique_ptr<DeferredDeletable>> deferring_;  // being freed by drain_deferred()
  std::thread thread_;
};

}  // namespace lmesh::event
