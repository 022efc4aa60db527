#include "tap/event_merger.h"

#include <optional>

namespace lmesh::tap {

void EventMerger::push(int64_t ts_us, std::string line, Clock::time_point now) {
  Key key{ts_us, sequence_++};
  bytes_ += line.size();
  held_.emplace(key, std::move(line));
  arrivals_.emplace_back(now, key);
  // Arrivals of events released early wait for their turn at the front; under a flood they
  // are swept here so that the deque stays within a multiple of the event bound too.
  if (arrivals_.size() > 2 * limits_.max_events) {
    std::erase_if(arrivals_, [this](const auto& a) { return !held_.contains(a.second); });
  }
}

void EventMerger::release_up_to(Key cutoff, std::vector<std::string>& out) {
  auto end = held_.upper_bound(cutoff);
  for (auto it = held_.begin(); it != end; ++it) {
    bytes_ -= it->second.size();
    out.push_back(std::move(it->second));
  }
  held_.erase(held_.begin(), end);
}

std::vector<std::string> EventMerger::release(Clock::time_point now) {
  std::vector<std::string> out;
  // The latest-stamped event among those whose hold has passed: everything stamped up to it
  // goes out now. Arrivals already released (as part of an earlier cutoff) are skipped.
  std::optional<Key> cutoff;
  while (!arrivals_.empty() && now - arrivals_.front().first >= limits_.hold) {
    const Key& key = arrivals_.front().second;
    if (!cutoff || *cutoff < key) cutoff = key;
    arrivals_.pop_front();
  }
  if (cutoff) release_up_to(*cutoff, out);
  // Over the bounds: the earliest go early.
  while (!held_.empty() && (held_.size() > limits_.max_events || bytes_ > limits_.max_bytes)) {
    release_up_to(held_.begin()->first, out);
  }
  // Arrivals whose events went out early are no longer needed to decide anything.
  while (!arrivals_.empty() && !held_.contains(arrivals_.front().second)) arrivals_.pop_front();
  return out;
}

std::vector<std::string> EventMerger::drain() {
  std::vector<std::string> out;
  out.reserve(held_.size());
  for (auto& [key, line] : held_) out.push_back(std::move(line));
  held_.clear();
  arrivals_.clear();
  bytes_ = 0;
  return out;
}

}  // namespace lmesh::tap
