#include "proxy/tap/tap_hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace lmesh::proxy {

namespace {

metrics::SeriesSnapshot series(double value) {
  metrics::SeriesSnapshot s;
  s.value = value;
  return s;
}

void add_family(metrics::Snapshot& snapshot, std::string name, std::string help,
                metrics::MetricType type, double value) {
  metrics::FamilySnapshot& f = snapshot.families.emplace_back();
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  f.series.push_back(series(value));
}

}  // namespace

TapHub::TapHub(event::Worker& control, size_t workers, Publish publish, TapLimits limits,
               TapAccess access)
    : control_(control),
      workers_(workers),
      publish_(std::move(publish)),
      limits_(limits),
      access_(std::move(access)),
      stats_(std::make_shared<TapStats>()),
      self_(std::make_shared<TapHub*>(this)) {}

TapHub::~TapHub() {
  close_all();
}

void TapHub::open(const api::Request& request, std::shared_ptr<api::Response> response) {
  if (auto allowed = check_tap_access(access_, request.peer, request.peer_identity); !allowed) {
    spdlog::debug("tap refused for {}: {}", request.peer.to_string(), allowed.error().message());
    response->error(403, "forbidden", allowed.error().message());
    return;
  }
  auto filter = parse_tap_filter(request.query, request.body);
  if (!filter) {
    response->error(400, "bad filter", filter.error().message());
    return;
  }
  auto subscription = std::make_shared<TapSubscription>(control_, workers_, std::move(*filter),
                                                        response, stats_, limits_);
  response->begin_json_stream();
  std::weak_ptr<TapHub*> hub = self_;
  TapSubscription* key = subscription.get();
  response->on_close([hub, key] {
    if (auto h = hub.lock()) (*h)->remove(key);
  });
  open_.push_back(std::move(subscription));
  ++stats_->opened;
  if (report_timer_ == nullptr) {
    report_timer_ = std::make_unique<event::Timer>(control_.loop(), [this] {
      for (const auto& s : open_) s->flush();
      report_every_second();
    });
    report_every_second();
  }
  spdlog::info("tap opened by {}{}{} ({} open)", request.peer.to_string(),
               request.peer_identity.empty() ? "" : " as ", request.peer_identity, open_.size());
  publish();
}

void TapHub::remove(const TapSubscription* subscription) {
  auto it = std::ranges::find_if(open_, [&](const auto& s) { return s.get() == subscription; });
  if (it == open_.end()) return;
  (*it)->close();
  open_.erase(it);
  if (open_.empty()) report_timer_.reset();
  spdlog::info("tap closed ({} open)", open_.size());
  publish();
}

void TapHub::close_all() {
  report_timer_.reset();
  if (open_.empty()) return;
  auto closing = std::exchange(open_, {});
  for (auto& s : closing) s->close();
  publish();
}

void TapHub::report_every_second() {
  report_timer_->arm(std::chrono::seconds(1));
}

void TapHub::publish() {
  publish_(std::make_shared<const WorkerTaps::Subscribers>(open_));
}

void TapHub::append_metrics(metrics::Snapshot& snapshot) const {
  add_family(snapshot, "tap_open", "Taps streaming events now", metrics::MetricType::kGauge,
             static_cast<double>(open_.size()));
  add_family(snapshot, "tap_opened_total", "Taps opened", metrics::MetricType::kCounter,
             static_cast<double>(stats_->opened.load()));
  add_family(snapshot, "tap_events_total", "Tap events written to subscribers",
             metrics::MetricType::kCounter, static_cast<double>(stats_->events.load()));
  metrics::FamilySnapshot& dropped = snapshot.families.emplace_back();
  dropped.name = "tap_events_dropped_total";
  dropped.help =
      "Tap events subscribers missed: requests over max_rps, a full queue, a slow reader";
  dropped.type = metrics::MetricType::kCounter;
  dropped.label_names = {"reason"};
  // Sorted by label value, as snapshots keep their series.
  for (auto [reason, count] : {std::pair{"queue_full", &stats_->queue_full},
                               std::pair{"rate_limited", &stats_->rate_limited},
                               std::pair{"slow_reader", &stats_->slow_reader}}) {
    metrics::SeriesSnapshot& s = dropped.series.emplace_back(series(static_cast<double>(*count)));
    s.label_values = {reason};
  }
}

}  // namespace lmesh::proxy
