#include "tap/tap_server.h"

#include "common/metrics/prometheus_text.h"
#include "tap/dashboard_assets.h"
#include "tap/stat_params.h"
#include "tap/tap_params.h"

namespace lmesh::tap {
namespace {

api::ServerOptions server_options() {
  api::ServerOptions o;
  o.max_body_bytes = 4 << 10;  // every route is a GET
  // A tap reader that stops reading is cut off (and its proxy streams closed) rather than
  // buffered for.
  o.max_stream_backlog = 4 << 20;
  return o;
}

}  // namespace

TapServer::TapServer(event::Worker& worker, PodDirectory& directory, StatCollector& stats,
                     const TapIdentity& identity, TapMetrics& metrics)
    : worker_(worker),
      directory_(directory),
      stats_(stats),
      identity_(identity),
      metrics_(metrics),
      server_(worker, server_options()) {
  server_.route("GET", "/v1/tap", [this](const api::Request& req, auto r) { tap(req, r); });
  server_.route("GET", "/v1/stat", [this](const api::Request& req, auto r) {
    auto params = parse_stat_params(req.query);
    if (!params) {
      r->error(400, "bad parameters", params.error().message());
      return;
    }
    stats_.query(std::move(*params), std::move(r));
  });
  // The web dashboard: a page that draws /v1/stat and /v1/tap (src/tap/dashboard/).
  for (std::string_view path : {"/", "/index.html", "/dashboard.js", "/dashboard.css"}) {
    server_.route("GET", std::string(path),
                  [path](const api::Request&, std::shared_ptr<api::Response> r) {
                    auto asset = dashboard_asset(path);
                    r->send(200, asset->content_type, std::string(asset->body));
                  });
  }
  server_.route("GET", "/live", [](const api::Request&, std::shared_ptr<api::Response> r) {
    r->send(200, "text/plain", "live\n");
  });
  server_.route("GET", "/ready", [this](const api::Request&, std::shared_ptr<api::Response> r) {
    if (stats_.rounds() == 0) {
      r->send(503, "text/plain", "not ready: no scrape round has completed yet\n");
    } else if (!identity_.ready()) {
      // Every proxy with an identity would refuse a tap until then.
      r->send(503, "text/plain", "not ready: no certificate from lmesh-identity yet\n");
    } else {
      r->send(200, "text/plain", "ready\n");
    }
  });
  server_.route("GET", "/metrics", [this](const api::Request&, std::shared_ptr<api::Response> r) {
    r->send(200, metrics::kPrometheusTextContentType,
            metrics_.render([this](metrics::Snapshot& s) { identity_.append_metrics(s); }));
  });
}

TapServer::~TapServer() = default;

void TapServer::tap(const api::Request& request, std::shared_ptr<api::Response> response) {
  auto params = parse_tap_params(request.query);
  if (!params) {
    response->error(400, "bad parameters", params.error().message());
    return;
  }
  auto session = std::make_unique<TapSession>(worker_, directory_, identity_, metrics_,
                                              std::move(*params), std::move(response),
                                              [this](TapSession* s) { session_finished(s); });
  TapSession* raw = session.get();
  sessions_.emplace(raw, std::move(session));
  raw->start();
}

void TapServer::session_finished(TapSession* session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  // It finishes from inside its own callbacks: freed on a later turn.
  worker_.defer_delete(std::move(it->second));
  sessions_.erase(it);
}

}  // namespace lmesh::tap
