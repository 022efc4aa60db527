#include "tap/tap_metrics.h"

#include <span>
#include <string_view>

#include "common/metrics/build_info.h"
#include "common/metrics/process_metrics.h"
#include "common/metrics/prometheus_text.h"

namespace lmesh::tap {
namespace {

constexpr std::span<const std::string_view> kNoLabels;

}  // namespace

TapMetrics::TapMetrics()
    : taps_open_(registry_.gauge("tap_taps_open", "Open /v1/tap streams", {}).get(kNoLabels)),
      relayed_(registry_.counter("tap_events_relayed_total", "Events sent to /v1/tap clients", {})
                   .get(kNoLabels)),
      dropped_(registry_
                   .counter("tap_events_dropped_total",
                            "Tapped requests refused by a tap's total max_rps", {})
                   .get(kNoLabels)),
      proxy_errors_(registry_
                        .counter("tap_proxy_errors_total",
                                 "Proxy tap streams that could not open or ended mid-tap", {})
                        .get(kNoLabels)) {
  auto& scrapes =
      registry_.counter("tap_scrapes_total", "Proxy /metrics scrapes, by result", {"result"}, 2);
  scrape_ok_ = &scrapes.get({"ok"});
  scrape_error_ = &scrapes.get({"error"});
}

std::string TapMetrics::render(const std::function<void(metrics::Snapshot&)>& append) const {
  metrics::Snapshot snapshot = registry_.snapshot();
  if (append) append(snapshot);
  metrics::append_process_metrics(snapshot);
  metrics::append_build_info(snapshot, "lmesh-tap");
  return metrics::render_prometheus(snapshot);
}

}  // namespace lmesh::tap
