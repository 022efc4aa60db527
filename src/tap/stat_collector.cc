#include "tap/stat_collector.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "tap/stat_rows.h"

namespace lmesh::tap {

using Clock = std::chrono::steady_clock;

// One /v1/stat request: the target's pods, a fresh scrape of them, the rows.
class StatCollector::Query : public event::DeferredDeletable {
 public:
  Query(StatCollector& owner, StatParams params, std::shared_ptr<api::Response> response)
      : owner_(owner), params_(std::move(params)), response_(std::move(response)) {
    lookup_ = owner_.directory_.lookup(
        params_.target, params_.namespace_,
        [this](Result<std::vector<Pod>> pods) { resolved(std::move(pods)); });
  }

 private:
  void resolved(Result<std::vector<Pod>> pods) {
    if (!pods) {
      const Error& e = pods.error();
      if (e.code() == ErrorCode::kNotFound) {
        response_->error(404, "no match", e.describe());
      } else if (e.code() == ErrorCode::kInvalidArgument) {
        response_->error(400, "bad target", e.describe());
      } else {
        response_->error(502, "destination service unavailable", e.describe());
      }
      return owner_.query_done(this);
    }
    pods_ = std::move(*pods);
    if (pods_.empty()) return answer({});
    scraped_at_ = Clock::now();
    batch_ = std::make_unique<ScrapeBatch>(
        owner_.worker_, owner_.identity_, owner_.metrics_, pods_, owner_.scrape_timeout_,
        [this](ScrapeBatch::Samples samples) { answer(std::move(samples)); });
  }

  void answer(ScrapeBatch::Samples fresh) {
    // The round nearest the window's start among those that saw any of these pods: right
    // after the pods appear (a mesh just brought up) the window is as long as their history,
    // and says so in window_s, instead of a round from before them giving no figures at all.
    // It is at least one scrape interval old, as Prometheus needs two scrapes for a rate.
    const ScrapeRound* baseline = owner_.history_.baseline(
        scraped_at_, params_.window, owner_.interval_, [&](const ScrapeRound& round) {
          return std::ranges::any_of(fresh,
                                     [&](const auto& kv) { return round.pods.contains(kv.first); });
        });
    double window_s = 0;
    if (baseline != nullptr) {
      window_s = std::chrono::duration<double>(scraped_at_ - baseline->at).count();
    }
    nlohmann::json body = {{"window_s", window_s},
                           {"rows", stat_rows(params_.target, pods_, fresh, baseline, window_s)}};
    response_->json(200, body);
    owner_.query_done(this);
  }

  StatCollector& owner_;
  StatParams params_;
  std::shared_ptr<api::Response> response_;
  std::unique_ptr<api::Call> lookup_;
  std::vector<Pod> pods_;
  Clock::time_point scraped_at_ = Clock::now();
  std::unique_ptr<ScrapeBatch> batch_;
};

StatCollector::StatCollector(event::Worker& worker, PodDirectory& directory,
                             const TapIdentity& identity, TapMetrics& metrics,
                             std::chrono::milliseconds interval,
                             std::chrono::milliseconds retention)
    : worker_(worker),
      directory_(directory),
      identity_(identity),
      metrics_(metrics),
      interval_(interval),
      // A round must end before the next one starts.
      scrape_timeout_(std::min(interval, std::chrono::milliseconds(5'000))),
      history_(retention),
      timer_(std::make_unique<event::Timer>(worker.loop(), [this] { begin_round(); })) {}

StatCollector::~StatCollector() = default;

void StatCollector::start() {
  begin_round();
}

void StatCollector::stop() {
  stopped_ = true;
  timer_.reset();
  round_lookup_.reset();
  if (round_batch_) worker_.defer_delete(std::move(round_batch_));
  for (auto& [ptr, query] : queries_) worker_.defer_delete(std::move(query));
  queries_.clear();
}

void StatCollector::begin_round() {
  if (stopped_) return;
  timer_->arm(interval_);
  if (round_running_) {
    spdlog::warn("stat: a scrape round is still running after {} ms; skipping one",
                 interval_.count());
    return;
  }
  round_running_ = true;
  round_lookup_ = directory_.lookup(
      std::nullopt, "", [this](Result<std::vector<Pod>> pods) { scrape_round(std::move(pods)); });
}

void StatCollector::scrape_round(Result<std::vector<Pod>> pods) {
  if (!pods) {
    spdlog::warn("stat: cannot list pods: {}", pods.error().describe());
    round_running_ = false;
    // /ready waits for a first round: until one has succeeded, try again in a second rather
    // than a whole interval later (started beside lmesh-destination, tap may be a moment early).
    if (rounds_ == 0) timer_->arm(std::min(interval_, std::chrono::milliseconds(1'000)));
    return;
  }
  round_scraped_at_ = Clock::now();
  if (pods->empty()) return end_round({});
  round_batch_ = std::make_unique<ScrapeBatch>(
      worker_, identity_, metrics_, *pods, scrape_timeout_,
      [this](ScrapeBatch::Samples samples) { end_round(std::move(samples)); });
}

void StatCollector::end_round(ScrapeBatch::Samples samples) {
  round_running_ = false;
  ++rounds_;
  history_.add(ScrapeRound{round_scraped_at_, std::move(samples)});
  // Called from the batch's own callback: it goes on a later turn.
  if (round_batch_) worker_.defer_delete(std::move(round_batch_));
}

void StatCollector::query(StatParams params, std::shared_ptr<api::Response> response) {
  if (stopped_) {
    response->error(503, "stopping", "the tap service is stopping");
    return;
  }
  auto query = std::make_unique<Query>(*this, std::move(params), std::move(response));
  Query* raw = query.get();
  queries_.emplace(raw, std::move(query));
}

void StatCollector::query_done(Query* query) {
  auto it = queries_.find(query);
  if (it == queries_.end()) return;
  worker_.defer_delete(std::move(it->second));
  queries_.erase(it);
}

}  // namespace lmesh::tap
