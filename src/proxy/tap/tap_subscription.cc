#include "proxy/tap/tap_subscription.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

namespace lmesh::proxy {

namespace {

int64_t unix_micros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

TapSubscription::TapSubscription(event::Worker& control, size_t workers, TapFilter filter,
                                 std::shared_ptr<api::Response> stream,
                                 std::shared_ptr<TapStats> stats, TapLimits limits)
    : control_(control),
      filter_(std::move(filter)),
      worker_rps_(filter_.max_rps / static_cast<double>(std::max<size_t>(1, workers))),
      buckets_(std::max<size_t>(1, workers)),
      stream_(std::move(stream)),
      stats_(std::move(stats)),
      limits_(limits) {
  // A bucket holds one second of its rate (at least one request): bursts up to that pass.
  for (Bucket& b : buckets_) b.tokens = std::max(1.0, worker_rps_);
}

bool TapSubscription::has_budget(size_t worker, uint64_t now_ns) {
  Bucket& b = buckets_[worker % buckets_.size()];
  if (b.refilled_ns != 0 && now_ns > b.refilled_ns) {
    b.tokens = std::min(std::max(1.0, worker_rps_),
                        b.tokens + static_cast<double>(now_ns - b.refilled_ns) / 1e9 * worker_rps_);
  }
  b.refilled_ns = now_ns;
  if (b.tokens >= 1.0) return true;
  b.rate_limited.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool TapSubscription::admit(size_t worker) {
  Bucket& b = buckets_[worker % buckets_.size()];
  b.tokens -= 1.0;
  std::unique_lock lock(mu_);
  if (closed_) return false;
  // Half the queue is kept for the later events of requests already admitted.
  if (queued_bytes_ > limits_.queue_bytes / 2) {
    ++queue_full_;
    wake_locked(lock);
    return false;
  }
  return true;
}

void TapSubscription::push(std::string line) {
  std::unique_lock lock(mu_);
  if (closed_) return;
  if (queued_bytes_ + line.size() > limits_.queue_bytes) {
    ++queue_full_;
  } else {
    queued_bytes_ += line.size();
    queue_.push_back(std::move(line));
  }
  wake_locked(lock);
}

void TapSubscription::wake_locked(std::unique_lock<std::mutex>& lock) {
  // One post per batch: events queued before the control thread runs share it.
  if (std::exchange(wake_posted_, true)) return;
  lock.unlock();
  control_.post([self = shared_from_this()] { self->flush(); });
}

void TapSubscription::flush() {
  std::deque<std::string> lines;
  uint64_t queue_full = 0;
  {
    std::lock_guard lock(mu_);
    lines.swap(queue_);
    queued_bytes_ = 0;
    queue_full = std::exchange(queue_full_, 0);
    wake_posted_ = false;
    if (closed_) return;
  }
  if (stream_ == nullptr || !stream_->open()) return;
  uint64_t rate_limited = 0;
  for (Bucket& b : buckets_) rate_limited += b.rate_limited.exchange(0, std::memory_order_relaxed);
  uint64_t written = 0;
  uint64_t slow_reader = 0;
  if (stream_->backlog() > limits_.backlog_bytes) {
    slow_reader = lines.size();  // the subscriber reads too slowly: drop rather than buffer
  } else if (!lines.empty()) {
    // One write for the batch: a busy tap would otherwise cost a syscall per event.
    std::string batch = std::move(lines.front());
    for (size_t i = 1; i < lines.size(); ++i) {
      batch += '\n';
      batch += lines[i];
    }
    stream_->send_line(std::move(batch));
    written = lines.size();
  }
  stats_->events += written;
  stats_->rate_limited += rate_limited;
  stats_->queue_full += queue_full;
  stats_->slow_reader += slow_reader;
  if (uint64_t missed = rate_limited + queue_full + slow_reader; missed > 0) {
    stream_->send_line(nlohmann::json{
        {"kind", "dropped"},
        {"ts_us", unix_micros()},
        {"count", missed},
        {"rate_limited", rate_limited},
        {"queue_full", queue_full},
        {"slow_reader",
         slow_reader}}.dump());
  }
}

void TapSubscription::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
  }
  if (stream_ != nullptr && stream_->open()) stream_->end_stream();
  stream_.reset();
}

}  // namespace lmesh::proxy
