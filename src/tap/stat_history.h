// The scrapes kept for /v1/stat: one round per --scrape-interval, each the samples of every
// pod that answered, kept for --stat-retention. Bounded in rounds (retention / interval, and
// an absolute cap) and, through stat_sample.h, in series per pod.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>

#include "tap/stat_sample.h"

namespace lmesh::tap {

struct ScrapeRound {
  std::chrono::steady_clock::time_point at;
  std::unordered_map<std::string, PodSample> pods;  // by Pod::key()
};

class StatHistory {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxRounds = 4096;

  explicit StatHistory(std::chrono::milliseconds retention) : retention_(retention) {}

  void add(ScrapeRound round);
  // The round taken closest to `when` (the oldest kept when all are later), or null. With
  // `useful`, only rounds it accepts are considered.
  const ScrapeRound* closest(Clock::time_point when,
                             const std::function<bool(const ScrapeRound&)>& useful = {}) const;
  // The round a scrape taken at `fresh_at` is differenced against for a `window`: the one
  // closest to the window's start among those `useful` accepts and at least `min_span` older.
  // Without that floor a young history offers a round a moment old, and a rate drawn over a
  // moment is noise: a request counted in the fresh scrape whose response is not yet in it
  // reads as a window of traffic with no responses at all.
  const ScrapeRound* baseline(Clock::time_point fresh_at, Clock::duration window,
                              Clock::duration min_span,
                              const std::function<bool(const ScrapeRound&)>& useful = {}) const;
  size_t size() const { return rounds_.size(); }

 private:
  std::chrono::milliseconds retention_;
  std::deque<ScrapeRound> rounds_;  // oldest first
};

}  // namespace lmesh::tap
