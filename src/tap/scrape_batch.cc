#include "tap/scrape_batch.h"

#include <spdlog/spdlog.h>

#include "common/event/worker.h"
#include "tap/prometheus_parser.h"

namespace lmesh::tap {

ScrapeBatch::ScrapeBatch(event::Worker& worker, const TapIdentity& identity, TapMetrics& metrics,
                         const std::vector<Pod>& pods, std::chrono::milliseconds timeout, Done done)
    : metrics_(metrics), done_(std::move(done)) {
  api::ClientOptions o;
  o.protocol = api::ClientProtocol::kHttp1;  // a plain GET, as Prometheus scrapes
  o.connect_timeout = std::min(timeout, std::chrono::milliseconds(2'000));
  o.request_timeout = timeout;
  o.max_response_bytes = 16 << 20;
  pending_ = pods.size();
  for (const Pod& pod : pods) {
    api::ClientOptions options = o;
    identity.secure_scrape(pod, options);
    clients_.push_back(std::make_unique<api::Client>(worker, pod.admin, std::move(options)));
    calls_.push_back(clients_.back()->request(
        "GET", "/metrics", "",
        [this, key = pod.key()](Result<api::ClientResponse> r) { answered(key, std::move(r)); }));
  }
}

ScrapeBatch::~ScrapeBatch() = default;

void ScrapeBatch::answered(const std::string& key, Result<api::ClientResponse> r) {
  Result<std::vector<PromSample>> parsed = std::unexpected(Error(ErrorCode::kInternal, ""));
  if (!r) {
    parsed = fail(r.error());
  } else if (r->status != 200) {
    parsed = fail(ErrorCode::kRefused, "HTTP " + std::to_string(r->status));
  } else {
    parsed = parse_prometheus_text(r->body);
  }
  metrics_.scraped(parsed.has_value());
  if (parsed) {
    samples_[key] = extract_pod_sample(*parsed);
  } else {
    spdlog::debug("scrape of pod {} failed: {}", key, parsed.error().describe());
  }
  if (--pending_ == 0) {
    if (auto done = std::exchange(done_, nullptr)) done(std::move(samples_));
  }
}

}  // namespace lmesh::tap
