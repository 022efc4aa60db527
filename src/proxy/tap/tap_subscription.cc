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

TapSubscription::TapSubscription(event::Worker& control, TapFilter filter,
                                 std::shared_ptr<api::Response> stream,
                                 std::shared_ptr<TapStats> stats, TapLimits limits)
    : control_(control),
      filter_(std::move(filter)),
      stream_(std::move(stream)),
      stats_(std::move(stats)),
      limits_(limits),
      tokens_(std::max(1.0, filter_.max_rps)) {}

bool TapSubscription::admit(uint64_t now_ns) {
  std::unique_lock lock(mu_);
  if (closed_) return false;
  // A token bucket holding one second of the rate: bursts up to max_rps pass at once.
  double burst = std::max(1.0, filter_.max_rps);
  if (refilled_ns_ != 0 && now_ns > refilled_ns_) {
    tokens_ = std::min(
        burst, tokens_ + static_cast<double>(now_ns - refilled_ns_) / 1e9 * filter_.max_rps);
  }
  refilled_ns_ = now_ns;
  // Half the queue is kept for the later events of requests already admitted.
  if (tokens_ < 1.0 || queued_bytes_ > limits_.queue_bytes / 2) {
    ++missed_;
    wake_locked(lock);
    return false;
  }
  tokens_ -= 1.0;
  return true;
}

void TapSubscription::push(std::string line) {
  std::unique_lock lock(mu_);
  if (closed_) return;
  if (queued_bytes_ + line.size() > limits_.queue_bytes) {
    ++missed_;
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
  uint64_t missed = 0;
  {
    std::lock_guard lock(mu_);
    lines.swap(queue_);
    queued_bytes_ = 0;
    missed = std::exchange(missed_, 0);
    wake_posted_ = false;
    if (closed_) return;
  }
  if (stream_ == nullptr || !stream_->open()) return;
  uint64_t written = 0;
  for (std::string& line : lines) {
    if (stream_->backlog() > limits_.backlog_bytes) {
      ++missed;  // the subscriber reads too slowly: drop rather than buffer
      continue;
    }
    stream_->send_line(std::move(line));
    ++written;
  }
  stats_->events += written;
  if (missed > 0) {
    stats_->dropped += missed;
    stream_->send_line(
        nlohmann::json{{"kind", "dropped"}, {"ts_us", unix_micros()}, {"count", missed}}.dump());
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
