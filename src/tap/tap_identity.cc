#include "tap/tap_identity.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "common/identity/mesh_client_context.h"

namespace lmesh::tap {

TapIdentity::TapIdentity(event::Worker& worker, const TapConfig& config)
    : worker_(worker), config_(config) {}

TapIdentity::~TapIdentity() = default;

Result<void> TapIdentity::start() {
  if (!config_.identity_enabled()) return {};
  std::ifstream in(config_.trust_anchors_file);
  if (!in) {
    return fail(ErrorCode::kInvalidArgument,
                "cannot read --trust-anchors " + config_.trust_anchors_file);
  }
  std::stringstream pem;
  pem << in.rdbuf();
  auto anchors = tls::Certificate::all_from_pem(pem.str());
  if (!anchors) {
    return fail(Error::wrap(anchors.error(), "--trust-anchors " + config_.trust_anchors_file));
  }
  trust_anchors_ = *anchors;
  identity::IdentitySettings settings{*config_.identity_addr, config_.identity_name,
                                      config_.identity_token_file, config_.identity_server_name,
                                      std::move(*anchors)};
  auto client = identity::IdentityClient::make(
      worker_, std::move(settings),
      [this](const tls::Credentials& credentials) { return publish(credentials); });
  if (!client) return fail(Error::wrap(client.error(), "identity"));
  client_ = std::move(*client);
  client_->start();
  spdlog::info("identity name={} identity_addr={}", config_.identity_name,
               config_.identity_addr->to_string());
  return {};
}

void TapIdentity::stop() {
  client_.reset();
}

Result<void> TapIdentity::publish(const tls::Credentials& credentials) {
  auto context = identity::make_mesh_client_context(credentials, trust_anchors_, {"http/1.1"});
  if (!context) return fail(Error::wrap(context.error(), "TLS context towards the proxies"));
  context_ = std::move(*context);
  return {};
}

Result<void> TapIdentity::secure_tap(const Pod& pod, api::ClientOptions& options) const {
  if (pod.identity.empty() || !config_.identity_enabled()) return {};
  if (context_ == nullptr) {
    return fail(ErrorCode::kRefused,
                "the tap service has no certificate from lmesh-identity yet (mTLS to " +
                    pod.identity + ")");
  }
  options.tls = context_;
  options.tls_server_name = pod.identity;
  return {};
}

void TapIdentity::secure_scrape(const Pod& pod, api::ClientOptions& options) const {
  if (pod.identity.empty() || context_ == nullptr) return;
  options.tls = context_;
  options.tls_server_name = pod.identity;
}

void TapIdentity::append_metrics(metrics::Snapshot& snapshot) const {
  if (client_ != nullptr) client_->append_metrics(snapshot);
}

}  // namespace lmesh::tap
