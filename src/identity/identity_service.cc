#include "identity/identity_service.h"

#include <spdlog/spdlog.h>

#include "common/fs/read_file.h"
#include "common/tls/certificate.h"
#include "common/tls/context.h"
#include "common/tls/csr.h"
#include "common/tls/identity_name.h"
#include "common/tls/key.h"
#include "identity/file_token_validator.h"
#include "identity/rfc3339.h"
#include "identity/token_review_validator.h"

namespace lmesh::identity {

IdentityService::IdentityService(IdentityConfig config) : config_(std::move(config)), worker_(0) {}

// Members go in reverse declaration order (validator, server, then the worker, whose
// destructor finishes the handles' closing when run() never ran).
IdentityService::~IdentityService() = default;

Result<void> IdentityService::start() {
  auto ca = CertificateAuthority::load(config_.issuer);
  if (!ca) return fail(ca.error());
  if (auto ok = ca->check(std::chrono::system_clock::now()); !ok) {
    return fail(
        Error::wrap(ok.error(), "the issuer " + config_.issuer.issuer_cert + " cannot be used"));
  }
  ca_.emplace(std::move(*ca));
  const tls::Certificate& issuer = ca_->issuer_certificate();
  spdlog::info("issuer loaded cn={} expires={} sha256={}", issuer.common_name(),
               format_rfc3339(issuer.not_after()), issuer.sha256_fingerprint());

  auto validator = make_validator();
  if (!validator) return fail(validator.error());
  validator_ = std::move(*validator);

  auto serving = serving_context();
  if (!serving) return fail(Error::wrap(serving.error(), "the API's own certificate"));

  IssuancePolicy policy{config_.issuance_lifetime, config_.clock_skew_allowance};
  server_ = std::make_unique<IdentityServer>(worker_, *ca_, *validator_, metrics_, policy,
                                             std::move(*serving));
  auto bound = server_->listen(config_.listen);
  if (!bound) return fail(Error::wrap(bound.error(), "--listen " + config_.listen.to_string()));
  spdlog::info("listening listener=api addr={}", bound->to_string());

  // Pending token reviews are cancelled first: their callbacks would answer through the server.
  loop_.stop_on_signals(server_->api_server(), [this] { validator_.reset(); });
  return {};
}

Result<std::shared_ptr<const tls::Context>> IdentityService::serving_context() {
  // Proxies verify this service against their trust anchors before they send it a token, so
  // it proves itself the way they will: a leaf from its own issuer for its identity, with a
  // key made here and never written anywhere (a restart makes a new one).
  auto who = tls::ServiceAccountIdentity::from_dns_name(config_.server_identity);
  if (!who) return fail(ErrorCode::kInvalidArgument, "bad --server-identity");
  auto key = tls::PrivateKey::generate_p256();
  if (!key) return fail(key.error());
  tls::SubjectNames names{who->dns_name(), {who->dns_name()}, {who->spiffe_id()}};
  auto csr_pem = tls::make_csr_pem(*key, names);
  if (!csr_pem) return fail(csr_pem.error());
  auto csr = tls::CertificateRequest::from_pem(*csr_pem);
  if (!csr) return fail(ErrorCode::kInternal, csr.error().detail);
  // As long as the issuer lasts: the key lives only as long as this process anyway.
  auto now = std::chrono::system_clock::now();
  auto lifetime =
      std::chrono::duration_cast<std::chrono::seconds>(ca_->issuer_certificate().not_after() - now);
  auto leaf = ca_->issue(*csr, *who, now, lifetime, config_.clock_skew_allowance);
  if (!leaf) return fail(leaf.error());
  tls::ContextOptions o;
  o.role = tls::Role::kServer;
  o.credentials = tls::Credentials{std::move(*leaf), {ca_->issuer_certificate()}, std::move(*key)};
  o.require_client_certificate = false;  // proxies have no certificate yet: that is the point
  o.alpn = {"h2", "http/1.1"};
  spdlog::info("api identity name={}", who->dns_name());
  return tls::Context::make(o);
}

Result<std::unique_ptr<TokenValidator>> IdentityService::make_validator() {
  if (config_.token_file) {
    auto v = FileTokenValidator::open(worker_, *config_.token_file);
    if (!v) return fail(Error::wrap(v.error(), "--token-file"));
    spdlog::info("tokens from file path={} tokens={}", (*v)->path(), (*v)->size());
    return std::unique_ptr<TokenValidator>(std::move(*v));
  }
  const KubernetesApi& api = *config_.kubernetes_api;
  auto address = api.address.resolve();
  if (!address) return fail(Error::wrap(address.error(), api.source));
  TokenReviewOptions options;
  options.api_server = *address;
  options.credential_file = config_.kubernetes_token_file;
  if (api.tls) {
    auto pem = fs::read_file(config_.kubernetes_ca_file, 1 << 20);
    if (!pem) return fail(Error::wrap(pem.error(), "--kubernetes-ca-file"));
    auto anchors = tls::Certificate::all_from_pem(*pem);
    if (!anchors) return fail(Error::wrap(anchors.error(), "--kubernetes-ca-file"));
    // The API server is no mesh peer: TLS 1.2 is allowed, any key type, HTTP/1.1.
    tls::ContextOptions o;
    o.role = tls::Role::kClient;
    o.trust_anchors = std::move(*anchors);
    o.alpn = {"http/1.1"};
    o.allow_tls12 = true;
    auto context = tls::Context::make(o);
    if (!context) return fail(Error::wrap(context.error(), "TLS to the Kubernetes API"));
    options.tls = std::move(*context);
    options.server_name = api.address.host;
  }
  auto v = TokenReviewValidator::open(worker_, std::move(options));
  if (!v) return fail(Error::wrap(v.error(), "--kubernetes-token-file"));
  spdlog::info("tokens reviewed by Kubernetes api={}", address->to_string());
  return std::unique_ptr<TokenValidator>(std::move(*v));
}

void IdentityService::run() {
  loop_.run();
}

}  // namespace lmesh::identity
