#include "proxy/admin/admin_server.h"

#include "common/metrics/prometheus_text.h"

namespace lmesh::proxy {

namespace {

api::ServerOptions options(AdminServer::TlsFn tls) {
  api::ServerOptions o;
  o.tls_provider = std::move(tls);
  return o;
}

}  // namespace

AdminServer::AdminServer(event::Worker& control, TlsFn tls, ReadyFn ready, MetricsFn metrics,
                         TapFn tap)
    : server_(control, options(std::move(tls))) {
  server_.route("GET", "/live", [](const api::Request&, std::shared_ptr<api::Response> r) {
    r->send(200, "text/plain", "live\n");
  });
  server_.route("GET", "/ready", [ready](const api::Request&, std::shared_ptr<api::Response> r) {
    bool ok = ready();
    r->send(ok ? 200 : 503, "text/plain", ok ? "ready\n" : "not ready\n");
  });
  server_.route("GET", "/metrics",
                [metrics](const api::Request&, std::shared_ptr<api::Response> r) {
                  // If the client leaves before the workers answer, send() does nothing.
                  metrics([r](std::string text) {
                    r->send(200, metrics::kPrometheusTextContentType, std::move(text));
                  });
                });
  server_.route("GET", "/tap", std::move(tap));
}

}  // namespace lmesh::proxy
