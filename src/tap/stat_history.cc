#include "tap/stat_history.h"

namespace lmesh::tap {

void StatHistory::add(ScrapeRound round) {
  Clock::time_point now = round.at;
  rounds_.push_back(std::move(round));
  while (rounds_.size() > kMaxRounds ||
         (rounds_.size() > 1 && now - rounds_.front().at > retention_)) {
    rounds_.pop_front();
  }
}

const ScrapeRound* StatHistory::closest(
    Clock::time_point when, const std::function<bool(const ScrapeRound&)>& useful) const {
  const ScrapeRound* best = nullptr;
  Clock::duration best_gap{};
  for (const ScrapeRound& r : rounds_) {
    if (useful && !useful(r)) continue;
    Clock::duration gap = r.at > when ? r.at - when : when - r.at;
    if (best == nullptr || gap < best_gap) {
      best = &r;
      best_gap = gap;
    }
  }
  return best;
}

const ScrapeRound* StatHistory::baseline(
    Clock::time_point fresh_at, Clock::duration window, Clock::duration min_span,
    const std::function<bool(const ScrapeRound&)>& useful) const {
  return closest(fresh_at - window, [&](const ScrapeRound& r) {
    return r.at <= fresh_at - min_span && (!useful || useful(r));
  });
}

}  // namespace lmesh::tap
