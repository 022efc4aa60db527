#include "identity/identity_service.h"

#include <spdlog/spdlog.h>

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

  IssuancePolicy policy{config_.issuance_lifetime, config_.clock_skew_allowance};
  server_ = std::make_unique<IdentityServer>(worker_, *ca_, *validator_, metrics_, policy);
  auto bound = server_->listen(config_.listen);
  if (!bound) return fail(Error::wrap(bound.error(), "--listen " + config_.listen.to_string()));
  spdlog::info("listening listener=api addr={}", bound->to_string());

  for (auto [handle, signum] : {std::pair{&sigterm_, SIGTERM}, std::pair{&sigint_, SIGINT}}) {
    handle->init(uv_signal_init, worker_.loop());
    handle->get()->data = this;
    uv_signal_start(handle->get(), &IdentityService::on_signal, signum);
  }
  return {};
}

Result<std::unique_ptr<TokenValidator>> IdentityService::make_validator() {
  if (config_.token_file) {
    auto v = FileTokenValidator::open(worker_, *config_.token_file);
    if (!v) return fail(Error::wrap(v.error(), "--token-file"));
    spdlog::info("tokens from file path={} tokens={}", (*v)->path(), (*v)->size());
    return std::unique_ptr<TokenValidator>(std::move(*v));
  }
  const KubernetesApi& api = *config_.kubernetes_api;
  if (api.tls) {
    // See TokenReviewOptions: this is where TLS to the API server will plug in.
    return fail(ErrorCode::kInvalidArgument,
                api.source + " " + api.address.to_string() +
                    ": HTTPS to the Kubernetes API is not supported yet; use "
                    "--kubernetes-api http://HOST:PORT (e.g. `kubectl proxy`) or --token-file");
  }
  auto address = api.address.resolve();
  if (!address) return fail(Error::wrap(address.error(), api.source));
  TokenReviewOptions options;
  options.api_server = *address;
  options.credential_file = config_.kubernetes_token_file;
  auto v = TokenReviewValidator::open(worker_, std::move(options));
  if (!v) return fail(Error::wrap(v.error(), "--kubernetes-token-file"));
  spdlog::info("tokens reviewed by Kubernetes api={}", address->to_string());
  return std::unique_ptr<TokenValidator>(std::move(*v));
}

void IdentityService::run() {
  worker_.run();
  spdlog::info("stopped");
}

void IdentityService::on_signal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<IdentityService*>(handle->data);
  if (self == nullptr) return;
  spdlog::info("signal {}: stopping", signum);
  self->stop();
}

void IdentityService::stop() {
  // Pending token reviews are cancelled first: their callbacks would answer through the server.
  validator_.reset();
  if (server_) server_->close();
  sigterm_.close();
  sigint_.close();
  worker_.stop();
}

}  // namespace lmesh::identity
