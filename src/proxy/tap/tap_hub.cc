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

TapHub::TapHub(event::Worker& control, Publish publish, TapLimits limits)
    : control_(control),
      publish_(std::move(publish)),
      limits_(limits),
      stats_(std::make_shared<TapStats>()),
      self_(std::make_shared<TapHub*>(this)) {}

TapHub::~TapHub() {
  close_all();
}

void TapHub::open(const api::Request& request, std::shared_ptr<api::Response> response) {
  // Until the admin port speaks mTLS, a tap shows requests only to this host's own users.
  if (!request.peer.is_loopback()) {
    response->error(403, "forbidden", "tap is open to loopback clients only");
    return;
  }
  auto filter = parse_tap_filter(request.query, request.body);
  if (!filter) {
    response->error(400, "bad filter", filter.error().message());
    return;
  }
  auto subscription =
      std::make_shared<TapSubscription>(control_, std::move(*filter), response, stats_, limits_);
  response->begin_json_stream();
  std::weak_ptr<TapHub*> hub = self_;
  TapSubscription* key = subscription.get();
  response->on_close([hub, key] {
    if (auto h = hub.lock()) (*h)->remove(key);
  });
  open_.push_back(std::move(subscription));
  ++stats_->opened;
  spdlog::info("tap opened by {} ({} open)", request.peer.to_string(), open_.size());
  publish();
}

void TapHub::remove(const TapSubscription* subscription) {
  auto it = std::ranges::find_if(open_, [&](const auto& s) { return s.get() == subscription; });
  if (it == open_.end()) return;
  (*it)->close();
  open_.erase(it);
  spdlog::info("tap closed ({} open)", open_.size());
  publish();
}

void TapHub::close_all() {
  if (open_.empty()) return;
  auto closing = std::exchange(open_, {});
  for (auto& s : closing) s->close();
  publish();
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
  add_family(snapshot, "tap_events_dropped_total",
             "Tap events subscribers missed (rate limit, full queue, slow reader)",
             metrics::MetricType::kCounter, static_cast<double>(stats_->dropped.load()));
}

}  // namespace lmesh::proxy
