// IdentityServer (src/identity/identity_server.h) on a real loop, reached with api::Client
// over HTTP/2 and HTTP/1.1: certify end to end, refusals counted, 413 counted, /ready 503 for
// an expired or non-chaining issuer.
#include "identity/identity_server.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include <catch2/catch.hpp>

#include "common/api/client.h"
#include "common/net/loop_helpers.h"
#include "common/tls/authority.h"

namespace lmesh::identity {
namespace {

using namespace std::chrono_literals;
using net::testing::run_until;
using net::testing::stop_and_close;

// The one mock of TokenValidator: a fixed map, answering at once.
class MapValidator final : public TokenValidator {
 public:
  explicit MapValidator(std::map<std::string, tls::ServiceAccountIdentity> tokens)
      : tokens_(std::move(tokens)) {}
  void validate(const std::string& token, Done done) override {
    auto it = tokens_.find(token);
    if (it == tokens_.end()) {
      done(std::unexpected(TokenRejection{TokenFailure::kUnauthenticated, "unknown token"}));
    } else {
      done(it->second);
    }
  }

 private:
  std::map<std::string, tls::ServiceAccountIdentity> tokens_;
};

struct TestCa {
  tls::KeyedCertificate root;
  tls::KeyedCertificate issuer;
};
TestCa make_ca(std::chrono::seconds issuer_validity = 24h, std::chrono::seconds backdate = 0s) {
  auto root = tls::make_root_ca("test root", 48h, 1h);
  REQUIRE(root.has_value());
  auto issuer = tls::make_intermediate_ca("test issuer", issuer_validity, *root, backdate);
  REQUIRE(issuer.has_value());
  return TestCa{*root, *issuer};
}

// One request to `server` on the loop; returns the answer.
api::ClientResponse call(event::Worker& w, const net::SocketAddress& server,
                         api::ClientProtocol protocol, std::string method, std::string target,
                         std::string body = "") {
  api::ClientOptions o;
  o.protocol = protocol;
  o.request_timeout = 3s;
  api::Client client(w, server, o);
  std::optional<Result<api::ClientResponse>> got;
  auto c = client.request(std::move(method), std::move(target), std::move(body),
                          [&](Result<api::ClientResponse> r) { got = std::move(r); });
  REQUIRE(run_until(
      w, [&] { return got.has_value(); }, 5s));
  c.reset();
  INFO((*got ? "" : got->error().describe()));
  REQUIRE(got->has_value());
  return **got;
}

double metric(const std::string& text, const std::string& series) {
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    std::string_view line(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
    if (line.starts_with(series + " ")) return std::stod(std::string(line.substr(series.size())));
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  FAIL("no series " << series);
  return -1;
}

std::string csr_for(const tls::SubjectNames& names) {
  auto key = tls::PrivateKey::generate_p256();
  REQUIRE(key.has_value());
  auto pem = tls::make_csr_pem(*key, names);
  REQUIRE(pem.has_value());
  return *pem;
}

TEST_CASE("certify over HTTP/2 and HTTP/1.1; refusals are counted", "[identity][server]") {
  const api::ClientProtocol protocol =
      GENERATE(api::ClientProtocol::kHttp2, api::ClientProtocol::kHttp1);
  CAPTURE(protocol == api::ClientProtocol::kHttp2 ? "h2c" : "HTTP/1.1");
  TestCa t = make_ca();
  CertificateAuthority ca({t.root.certificate}, t.issuer);
  MapValidator tokens({{"web-token", {"default", "web"}}});
  IdentityMetrics m;
  event::Worker w(0);
  {
    IdentityServer server(w, ca, tokens, m, IssuancePolicy{1h, 20s});
    auto addr = server.listen(*net::SocketAddress::parse("127.0.0.1:0"));
    REQUIRE(addr.has_value());
    const tls::ServiceAccountIdentity web{"default", "web"};
    std::string csr = csr_for({"", {web.dns_name()}, {web.spiffe_id()}});

    auto ok = call(w, *addr, protocol, "POST", "/v1/certify",
                   nlohmann::json{{"token", "web-token"}, {"csr", csr}}.dump());
    REQUIRE(ok.status == 200);
    auto body = nlohmann::json::parse(ok.body);
    auto leaf = tls::Certificate::from_pem(body["cert"].get<std::string>());
    REQUIRE(leaf.has_value());
    CHECK(leaf->dns_names() == std::vector<std::string>{web.dns_name()});
    CHECK(leaf->uris() == std::vector<std::string>{web.spiffe_id()});
    REQUIRE(body["chain"].size() == 1);
    auto chained = tls::Certificate::from_pem(body["chain"][0].get<std::string>());
    REQUIRE(chained.has_value());
    CHECK(chained->sha256_fingerprint() == t.issuer.certificate.sha256_fingerprint());
    CHECK(
        tls::verify_chain(*leaf, {*chained}, {t.root.certificate}, std::chrono::system_clock::now())
            .has_value());
    CHECK(body["expires"].get<std::string>().ends_with("Z"));

    auto unknown = call(w, *addr, protocol, "POST", "/v1/certify",
                        nlohmann::json{{"token", "who"}, {"csr", csr}}.dump());
    CHECK(unknown.status == 401);
    CHECK(nlohmann::json::parse(unknown.body)["error"] == "unauthenticated");

    auto mismatch = call(w, *addr, protocol, "POST", "/v1/certify",
                         nlohmann::json{{"token", "web-token"},
                                        {"csr", csr_for({"",
                                                         {"db.default.serviceaccount.identity."
                                                          "lmesh.cluster.local"},
                                                         {}})}}
                             .dump());
    CHECK(mismatch.status == 403);
    CHECK(nlohmann::json::parse(mismatch.body)["error"] == "identity mismatch");

    auto bad = call(w, *addr, protocol, "POST", "/v1/certify", "{");
    CHECK(bad.status == 400);

    auto huge =
        call(w, *addr, protocol, "POST", "/v1/certify", std::string(kMaxCertifyBodyBytes + 1, 'x'));
    CHECK(huge.status == 413);

    auto metrics = call(w, *addr, protocol, "GET", "/metrics");
    REQUIRE(metrics.status == 200);
    CHECK(metric(metrics.body, "identity_cert_issued_total") == 1);
    CHECK(metric(metrics.body, R"(identity_cert_refused_total{reason="unauthenticated"})") == 1);
    CHECK(metric(metrics.body, R"(identity_cert_refused_total{reason="identity_mismatch"})") == 1);
    CHECK(metric(metrics.body, R"(identity_cert_refused_total{reason="bad_request"})") == 1);
    CHECK(metric(metrics.body, R"(identity_cert_refused_total{reason="too_large"})") == 1);
    CHECK(metric(metrics.body, "identity_issuer_expiry_timestamp_seconds") ==
          static_cast<double>(
              std::chrono::system_clock::to_time_t(t.issuer.certificate.not_after())));
    CHECK(call(w, *addr, protocol, "GET", "/live").status == 200);
    CHECK(call(w, *addr, protocol, "GET", "/ready").status == 200);
    server.close();
    // While the server still exists: its connections tell it when they have closed.
    stop_and_close(w);
  }
}

TEST_CASE("/ready is 503 while the issuer cannot sign, and certify refuses", "[identity][server]") {
  MapValidator tokens({{"web-token", {"default", "web"}}});
  IdentityMetrics m;
  event::Worker w(0);
  SECTION("expired issuer") {
    TestCa t = make_ca(1s, 10s);  // expires one second from now
    CertificateAuthority ca({t.root.certificate}, t.issuer);
    IdentityServer server(w, ca, tokens, m, IssuancePolicy{});
    auto addr = server.listen(*net::SocketAddress::parse("127.0.0.1:0"));
    REQUIRE(addr.has_value());
    net::testing::run_for(w, 2100ms);
    auto ready = call(w, *addr, api::ClientProtocol::kHttp1, "GET", "/ready");
    CHECK(ready.status == 503);
    CHECK(ready.body.find("expired") != std::string::npos);
    const tls::ServiceAccountIdentity web{"default", "web"};
    auto refused =
        call(w, *addr, api::ClientProtocol::kHttp1, "POST", "/v1/certify",
             nlohmann::json{{"token", "web-token"}, {"csr", csr_for({"", {web.dns_name()}, {}})}}
                 .dump());
    CHECK(refused.status == 503);
    auto metrics = call(w, *addr, api::ClientProtocol::kHttp1, "GET", "/metrics");
    CHECK(metric(metrics.body, "identity_cert_issued_total") == 0);
    CHECK(metric(metrics.body, R"(identity_cert_refused_total{reason="issuer_not_ready"})") == 1);
    server.close();
    stop_and_close(w);
  }
  SECTION("issuer that does not chain to the trust anchors") {
    TestCa t = make_ca();
    TestCa other = make_ca();
    CertificateAuthority ca({other.root.certificate}, t.issuer);
    IdentityServer server(w, ca, tokens, m, IssuancePolicy{});
    auto addr = server.listen(*net::SocketAddress::parse("127.0.0.1:0"));
    REQUIRE(addr.has_value());
    auto ready = call(w, *addr, api::ClientProtocol::kHttp2, "GET", "/ready");
    CHECK(ready.status == 503);
    CHECK(ready.body.find("chain") != std::string::npos);
    server.close();
    stop_and_close(w);
  }
}

}  // namespace
}  // namespace lmesh::identity
