#include "common/identity/identity_client.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/fs/read_file.h"
#include "common/tls/authority.h"
#include "common/tls/csr.h"
#include "common/tls/identity_name.h"

namespace lmesh::identity {
namespace {

using Clock = std::chrono::system_clock;
using std::chrono::milliseconds;

// Renew at 70 % of the certificate's remaining life, +/- 5 % of it.
constexpr double kRenewAt = 0.70;
constexpr double kRenewJitter = 0.05;

// fs::read_file, not std::ifstream: the first iostream in a process builds libstdc++'s
// classic locale, which maps ~600 KiB of its pages into an otherwise idle proxy (issue 4).
Result<std::string> read_token(const std::string& path) {
  auto text = fs::read_file(path, 64 << 10);
  if (!text) return fail(Error::wrap(text.error(), "identity token file"));
  std::string token = std::move(*text);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (token.empty())
    return fail(ErrorCode::kInvalidArgument, "identity token file " + path + " is empty");
  return token;
}

metrics::SeriesSnapshot series(std::vector<std::string> labels, double value) {
  metrics::SeriesSnapshot s;
  s.label_values = std::move(labels);
  s.value = value;
  return s;
}

double seconds_since_epoch(Clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

Result<std::unique_ptr<IdentityClient>> IdentityClient::make(event::Worker& control,
                                                             IdentitySettings settings,
                                                             Publish publish) {
  if (settings.trust_anchors.empty()) {
    return fail(ErrorCode::kInvalidArgument, "no trust anchors to check certificates against");
  }
  auto key = tls::PrivateKey::generate_p256();
  if (!key) return fail(key.error());
  tls::SubjectNames names{settings.name, {settings.name}, {}};
  if (auto sa = tls::ServiceAccountIdentity::from_dns_name(settings.name)) {
    names.uris.push_back(sa->spiffe_id());
  }
  auto csr = tls::make_csr_pem(*key, names);
  if (!csr) return fail(csr.error());
  // The token goes only to a server that proves it is lmesh-identity: TLS 1.3, its
  // certificate chaining to our anchors and naming server_name. No client certificate: this
  // is how the proxy gets its first one.
  tls::ContextOptions o;
  o.role = tls::Role::kClient;
  o.trust_anchors = settings.trust_anchors;
  o.alpn = {"h2"};
  auto context = tls::Context::make(o);
  if (!context) return fail(Error::wrap(context.error(), "TLS to the identity service"));
  api::ClientOptions client_options;
  client_options.tls = std::move(*context);
  client_options.tls_server_name = settings.server_name;
  return std::unique_ptr<IdentityClient>(
      new IdentityClient(control, std::move(settings), std::move(publish), std::move(*key),
                         std::move(*csr), std::move(client_options)));
}

IdentityClient::IdentityClient(event::Worker& control, IdentitySettings settings, Publish publish,
                               tls::PrivateKey key, std::string csr_pem,
                               api::ClientOptions client_options)
    : control_(control),
      settings_(std::move(settings)),
      publish_(std::move(publish)),
      key_(std::move(key)),
      csr_pem_(std::move(csr_pem)),
      client_(control, settings_.identity_addr, std::move(client_options)),
      timer_(control.loop(), [this] { request(); }),
      rng_(std::random_device{}()),
      backoff_(settings_.backoff_min) {}

IdentityClient::~IdentityClient() = default;

void IdentityClient::start() {
  request();
}

void IdentityClient::request() {
  auto token = read_token(settings_.token_file);
  if (!token) {
    retry(token.error());
    return;
  }
  nlohmann::json body = {{"token", *token}, {"csr", csr_pem_}};
  call_ = client_.request("POST", "/v1/certify", body.dump(),
                          [this](Result<api::ClientResponse> r) { on_response(std::move(r)); });
}

void IdentityClient::on_response(Result<api::ClientResponse> response) {
  call_.reset();
  if (!response) {
    retry(Error::wrap(response.error(), "identity service unreachable"));
    return;
  }
  auto credentials = accept(*response);
  if (!credentials) {
    retry(credentials.error());
    return;
  }
  if (auto used = publish_(*credentials); !used) {
    retry(used.error());
    return;
  }
  current_ = credentials->leaf;
  ++refreshed_;
  backoff_ = settings_.backoff_min;
  Clock::time_point now = Clock::now();
  Clock::time_point expires = current_->not_after();
  auto remaining = std::chrono::duration_cast<milliseconds>(expires - now);
  std::uniform_real_distribution<double> jitter(kRenewAt - kRenewJitter, kRenewAt + kRenewJitter);
  auto renew_in = milliseconds(static_cast<int64_t>(remaining.count() * jitter(rng_)));
  spdlog::info("identity certificate issued identity={} expires_in={}s renew_in={}s",
               settings_.name, remaining.count() / 1000, renew_in.count() / 1000);
  schedule(std::max(renew_in, milliseconds(100)));
}

Result<tls::Credentials> IdentityClient::accept(const api::ClientResponse& response) const {
  if (response.status != 200) {
    std::string detail = response.body.substr(0, 200);
    return fail(ErrorCode::kRefused, "identity service refused the CSR (" +
                                         std::to_string(response.status) + "): " + detail);
  }
  std::string cert_pem;
  std::vector<std::string> chain_pems;
  try {
    auto j = nlohmann::json::parse(response.body);
    cert_pem = j.at("cert").get<std::string>();
    chain_pems = j.at("chain").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::kProtocol, std::string("bad certify response: ") + e.what());
  }
  auto leaf = tls::Certificate::from_pem(cert_pem);
  if (!leaf) return fail(leaf.error());
  std::vector<tls::Certificate> chain;
  for (const std::string& pem : chain_pems) {
    auto c = tls::Certificate::from_pem(pem);
    if (!c) return fail(c.error());
    chain.push_back(std::move(*c));
  }
  // Trust nothing the service says without checking: the key is ours, the name is ours, and
  // the chain leads to one of our anchors.
  if (!tls::key_matches(*leaf, key_)) {
    return fail(ErrorCode::kProtocol, "the issued certificate is not for this process's key");
  }
  auto names = leaf->dns_names();
  if (std::find(names.begin(), names.end(), settings_.name) == names.end()) {
    return fail(ErrorCode::kProtocol, "the issued certificate does not name " + settings_.name);
  }
  if (auto ok = tls::verify_chain(*leaf, chain, settings_.trust_anchors, Clock::now()); !ok) {
    return fail(Error::wrap(ok.error(), "the issued certificate does not chain to a trust anchor"));
  }
  return tls::Credentials{std::move(*leaf), std::move(chain), key_};
}

void IdentityClient::retry(const Error& why) {
  ++failed_;
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  auto delay = milliseconds(static_cast<int64_t>(backoff_.count() * jitter(rng_)));
  // While a certificate is held, retry within half its remaining life (but not in a tight
  // loop); once it has expired, plain backoff.
  if (current_.has_value()) {
    auto left = std::chrono::duration_cast<milliseconds>(current_->not_after() - Clock::now());
    if (left > milliseconds(0)) delay = std::max(milliseconds(100), std::min(delay, left / 2));
  }
  spdlog::warn("identity certificate request failed, retrying in {} ms: {}", delay.count(),
               why.describe());
  backoff_ = std::min(backoff_ * 2, settings_.backoff_max);
  schedule(delay);
}

void IdentityClient::schedule(milliseconds after) {
  timer_.arm(after);
}

void IdentityClient::append_metrics(metrics::Snapshot& snapshot) const {
  if (current_.has_value()) {
    metrics::FamilySnapshot& f = snapshot.families.emplace_back();
    f.name = "identity_cert_expiration_timestamp_seconds";
    f.help = "When this process's certificate expires, in seconds since the epoch";
    f.type = metrics::MetricType::kGauge;
    f.series.push_back(series({}, seconds_since_epoch(current_->not_after())));
  }
  metrics::FamilySnapshot& r = snapshot.families.emplace_back();
  r.name = "identity_cert_refresh_total";
  r.help = "Certificate requests to the identity service, by result";
  r.type = metrics::MetricType::kCounter;
  r.label_names = {"result"};
  r.series.push_back(series({"failure"}, static_cast<double>(failed_)));
  r.series.push_back(series({"success"}, static_cast<double>(refreshed_)));
}

}  // namespace lmesh::identity
