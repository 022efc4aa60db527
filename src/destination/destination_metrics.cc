#include "destination/destination_metrics.h"

#include <array>
#include <span>
#include <string_view>

#include "common/metrics/build_info.h"
#include "common/metrics/process_metrics.h"
#include "common/metrics/prometheus_text.h"

namespace lmesh::destination {
namespace {

constexpr std::span<const std::string_view> kNoLabels;
// A small file parses in well under a millisecond; 10,000 endpoints take tens of them.
constexpr std::array<double, 13> kReloadMsBuckets = {1,   2,   5,    10,   20,   50,   100,
                                                     200, 500, 1000, 2000, 5000, 10000};

}  // namespace

DestinationMetrics::DestinationMetrics()
    : services_(registry_.gauge("destination_services", "Services known", {}).get(kNoLabels)),
      endpoints_(
          registry_.gauge("destination_endpoints", "Endpoints of all services", {}).get(kNoLabels)),
      pods_(registry_.gauge("destination_pods", "Pods known (GET /v1/pods)", {}).get(kNoLabels)),
      reload_duration_ms_(registry_
                              .histogram("destination_reload_duration_ms",
                                         "Time to read, parse and check the mesh file", {},
                                         kReloadMsBuckets)
                              .get(kNoLabels)),
      kubernetes_events_(registry_.counter("destination_kubernetes_events_total",
                                           "Kubernetes watch events and list items, by result",
                                           {"kind", "result"}, 8)),
      kubernetes_relists_(registry_.counter("destination_kubernetes_relists_total",
                                            "Kubernetes re-lists after a watch expired", {"kind"},
                                            4)),
      pods_requests_(registry_.counter("destination_pods_requests_total",
                                       "GET /v1/pods requests, by response status", {"code"}, 3)) {
  auto& subscribers = registry_.gauge("destination_subscribers",
                                      "Open /v1/resolve and /v1/profile streams", {"kind"}, 2);
  auto& updates =
      registry_.counter("destination_updates_total",
                        "Lines sent on /v1/resolve and /v1/profile streams", {"kind"}, 2);
  auto& reloads =
      registry_.counter("destination_reload_total", "Mesh file loads, by result", {"result"}, 2);
  reload_ok_ = &reloads.get({"ok"});
  reload_error_ = &reloads.get({"error"});
  for (StreamKind kind : {StreamKind::kResolve, StreamKind::kProfile}) {
    subscribers_[index(kind)] = &subscribers.get({to_string(kind)});
    updates_[index(kind)] = &updates.get({to_string(kind)});
  }
}

void DestinationMetrics::reloaded(bool ok, double parse_ms) {
  (ok ? reload_ok_ : reload_error_)->inc();
  reload_duration_ms_.observe(parse_ms);
}

std::string DestinationMetrics::render() const {
  metrics::Snapshot snapshot = registry_.snapshot();
  metrics::append_process_metrics(snapshot);
  metrics::append_build_info(snapshot, "lmesh-destination");
  return metrics::render_prometheus(snapshot);
}

}  // namespace lmesh::destination
