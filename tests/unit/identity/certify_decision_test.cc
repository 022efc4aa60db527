// The certify decision (src/identity/certify_decision.h) and the CA that signs after it
// (certificate_authority.h), with keys, CSRs and CAs made here with src/common/tls.
#include "identity/certify_decision.h"

#include <catch2/catch.hpp>

#include "common/tls/authority.h"
#include "identity/certificate_authority.h"

namespace lmesh::identity {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

const tls::ServiceAccountIdentity kWeb{"default", "web"};
const std::string kWebDns = "web.default.serviceaccount.identity.lmesh.cluster.local";
const std::string kWebSpiffe = "spiffe://cluster.local/ns/default/sa/web";

std::string csr_for(const tls::SubjectNames& names) {
  auto key = tls::PrivateKey::generate_p256();
  REQUIRE(key.has_value());
  auto pem = tls::make_csr_pem(*key, names);
  REQUIRE(pem.has_value());
  return *pem;
}

TEST_CASE("the request body: token and csr, both non-empty strings", "[identity][certify]") {
  auto ok = parse_certify_request(R"({"token":"t","csr":"PEM","later":1})");
  REQUIRE(ok.has_value());
  CHECK(ok->token == "t");
  CHECK(ok->csr_pem == "PEM");
  for (const char* bad :
       {"", "not json", "[1,2]", R"({"token":"t"})", R"({"csr":"c"})", R"({"token":"","csr":"c"})",
        R"({"token":1,"csr":"c"})", R"({"token":"t","csr":null})", R"({"token":"t","csr":"c")"}) {
    INFO(bad);
    auto r = parse_certify_request(bad);
    REQUIRE(!r.has_value());
    CHECK(r.error().status == 400);
    CHECK(r.error().reason == reason::kBadRequest);
    CHECK(r.error().error == "bad request");
  }
}

TEST_CASE("token refusals: 401 for the client's fault, 503 for ours", "[identity][certify]") {
  Refusal r = refusal_for(TokenRejection{TokenFailure::kUnauthenticated, "unknown token"});
  CHECK(r.status == 401);
  CHECK(r.reason == reason::kUnauthenticated);
  CHECK(r.error == "unauthenticated");
  CHECK(r.detail == "unknown token");
  r = refusal_for(TokenRejection{TokenFailure::kUnavailable, "API down"});
  CHECK(r.status == 503);
  CHECK(r.reason == reason::kValidatorUnavailable);
}

TEST_CASE("a CSR asking for exactly the token's identity is accepted", "[identity][certify]") {
  // Any subset of the three ways to name it is fine, as long as each names the token's identity.
  for (const tls::SubjectNames& names :
       {tls::SubjectNames{kWebDns, {kWebDns}, {kWebSpiffe}}, tls::SubjectNames{"", {kWebDns}, {}},
        tls::SubjectNames{"", {}, {kWebSpiffe}}, tls::SubjectNames{kWebDns, {}, {}}}) {
    auto decided = decide(kWeb, csr_for(names));
    INFO((decided ? "ok" : decided.error().detail));
    CHECK(decided.has_value());
  }
}

TEST_CASE("a CSR asking for another identity is refused 403", "[identity][certify]") {
  const std::string other_dns = "db.default.serviceaccount.identity.lmesh.cluster.local";
  for (const tls::SubjectNames& names : {
           tls::SubjectNames{"", {other_dns}, {}},
           tls::SubjectNames{"", {kWebDns, other_dns}, {}},  // one extra name is enough
           tls::SubjectNames{"", {kWebDns}, {"spiffe://cluster.local/ns/default/sa/db"}},
           tls::SubjectNames{"", {kWebDns}, {"spiffe://evil.example/ns/default/sa/web"}},
           tls::SubjectNames{other_dns, {kWebDns}, {kWebSpiffe}},  // the CN counts too
           tls::SubjectNames{"", {}, {}},                          // nobody at all
       }) {
    auto decided = decide(kWeb, csr_for(names));
    REQUIRE(!decided.has_value());
    CHECK(decided.error().status == 403);
    CHECK(decided.error().reason == reason::kIdentityMismatch);
    CHECK(decided.error().error == "identity mismatch");
    CHECK(decided.error().detail.find(kWebDns) != std::string::npos);
  }
}

TEST_CASE("a CSR that is not one is refused 400", "[identity][certify]") {
  for (const char* bad : {"", "hello",
                          "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END "
                          "CERTIFICATE REQUEST-----\n"}) {
    auto decided = decide(kWeb, bad);
    REQUIRE(!decided.has_value());
    CHECK(decided.error().status == 400);
    CHECK(decided.error().reason == reason::kMalformedCsr);
  }
  CHECK(refusal_for(tls::CsrRejection{tls::CsrProblem::kBadSignature, "x"}).reason ==
        reason::kBadSignature);
  CHECK(refusal_for(tls::CsrRejection{tls::CsrProblem::kUnsupportedKey, "x"}).reason ==
        reason::kUnsupportedKey);
  CHECK(refusal_for(tls::CsrRejection{tls::CsrProblem::kUnsupportedKey, "x"}).status == 400);
}

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

TEST_CASE("the CA signs a leaf with both SANs, back-dated, chaining to the anchor",
          "[identity][ca]") {
  TestCa t = make_ca();
  CertificateAuthority ca({t.root.certificate}, t.issuer);
  REQUIRE(ca.check(system_clock::now()).has_value());
  auto csr = decide(kWeb, csr_for({"", {kWebDns}, {kWebSpiffe}}));
  REQUIRE(csr.has_value());
  auto now = system_clock::now();
  auto leaf = ca.issue(*csr, kWeb, now, 2h, 20s);
  REQUIRE(leaf.has_value());
  CHECK(leaf->dns_names() == std::vector<std::string>{kWebDns});
  CHECK(leaf->uris() == std::vector<std::string>{kWebSpiffe});
  CHECK(!leaf->is_ca());
  auto whole = [](system_clock::time_point t) { return system_clock::to_time_t(t); };
  CHECK(whole(leaf->not_before()) == whole(now - 20s));
  CHECK(whole(leaf->not_after()) == whole(now + 2h));
  CHECK(tls::verify_chain(*leaf, {t.issuer.certificate}, {t.root.certificate}, now).has_value());
}

TEST_CASE("a leaf never outlives its issuer", "[identity][ca]") {
  TestCa t = make_ca(1h);
  CertificateAuthority ca({t.root.certificate}, t.issuer);
  auto csr = decide(kWeb, csr_for({"", {kWebDns}, {}}));
  REQUIRE(csr.has_value());
  auto leaf = ca.issue(*csr, kWeb, system_clock::now(), 24h, 20s);
  REQUIRE(leaf.has_value());
  CHECK(leaf->not_after() <= t.issuer.certificate.not_after());
}

TEST_CASE("check() says why an issuer cannot sign", "[identity][ca]") {
  auto now = system_clock::now();
  SECTION("expired") {
    TestCa t = make_ca(1s, 10s);  // valid from 10 s ago to 1 s from now
    CertificateAuthority ca({t.root.certificate}, t.issuer);
    auto r = ca.check(now + 5s);
    REQUIRE(!r.has_value());
    CHECK(r.error().describe().find("expired") != std::string::npos);
  }
  SECTION("does not chain to the anchors") {
    TestCa t = make_ca();
    TestCa other = make_ca();
    CertificateAuthority ca({other.root.certificate}, t.issuer);
    auto r = ca.check(now);
    REQUIRE(!r.has_value());
    CHECK(r.error().describe().find("chain") != std::string::npos);
  }
  SECTION("the key is not the certificate's") {
    TestCa t = make_ca();
    TestCa other = make_ca();
    CertificateAuthority ca({t.root.certificate},
                            tls::KeyedCertificate{t.issuer.certificate, other.issuer.key});
    auto r = ca.check(now);
    REQUIRE(!r.has_value());
    CHECK(r.error().describe().find("key does not belong") != std::string::npos);
  }
}

}  // namespace
}  // namespace lmesh::identity
