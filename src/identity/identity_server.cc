#include "identity/identity_server.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "common/metrics/prometheus_text.h"

namespace lmesh::identity {
namespace {

api::ServerOptions server_options(IdentityMetrics& metrics,
                                  std::shared_ptr<const tls::Context> tls) {
  api::ServerOptions o;
  o.tls = std::move(tls);
  o.max_body_bytes = kMaxCertifyBodyBytes;
  // api::Server answers 413 itself; the refusal still counts.
  o.on_body_too_large = [&metrics](std::string_view target) {
    if (target.starts_with("/v1/certify")) metrics.refused(reason::kTooLarge);
  };
  return o;
}

}  // namespace

IdentityServer::IdentityServer(event::Worker& worker, const CertificateAuthority& ca,
                               TokenValidator& validator, IdentityMetrics& metrics,
                               IssuancePolicy policy, std::shared_ptr<const tls::Context> tls)
    : ca_(ca),
      metrics_(metrics),
      certify_(ca, validator, metrics, policy),
      server_(worker, server_options(metrics, std::move(tls))) {
  metrics_.set_issuer_expiry(ca_.issuer_certificate().not_after());
  server_.route("POST", "/v1/certify",
                [this](const api::Request& req, std::shared_ptr<api::Response> r) {
                  certify_.handle(req, std::move(r));
                });
  server_.route("GET", "/live", [](const api::Request&, std::shared_ptr<api::Response> r) {
    r->send(200, "text/plain", "live\n");
  });
  server_.route("GET", "/ready", [this](const api::Request&, std::shared_ptr<api::Response> r) {
    auto ok = ca_.check(std::chrono::system_clock::now());
    if (ok) {
      r->send(200, "text/plain", "ready\n");
    } else {
      r->send(503, "text/plain", "not ready: " + ok.error().describe() + "\n");
    }
  });
  server_.route("GET", "/metrics", [this](const api::Request&, std::shared_ptr<api::Response> r) {
    r->send(200, metrics::kPrometheusTextContentType, metrics_.render());
  });
}

}  // namespace lmesh::identity
