// Keys, CSRs, CA and leaf certificates (src/common/tls/{key,csr,certificate,authority}.h).
#include <catch2/catch.hpp>

#include "test_pki.h"

namespace lmesh::tls {
namespace {

using namespace std::chrono_literals;
using testing::TestPki;

TEST_CASE("a P-256 key round-trips through PEM", "[tls][pki]") {
  auto key = PrivateKey::generate_p256();
  REQUIRE(key.has_value());
  CHECK(is_p256(key->native()));
  std::string pem = key->to_pem();
  CHECK(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
  auto back = PrivateKey::from_pem(pem);
  REQUIRE(back.has_value());
  CHECK(back->to_pem() == pem);
  CHECK(!PrivateKey::from_pem("not a key").has_value());
}

TEST_CASE("a CSR carries its names and verifies", "[tls][pki]") {
  auto key = PrivateKey::generate_p256();
  SubjectNames names{"web",
                     {"web.default.serviceaccount.identity.lmesh.cluster.local"},
                     {"spiffe://cluster.local/ns/default/sa/web"}};
  auto pem = make_csr_pem(*key, names);
  REQUIRE(pem.has_value());
  auto csr = CertificateRequest::from_pem(*pem);
  REQUIRE(csr.has_value());
  CHECK(csr->names().common_name == "web");
  CHECK(csr->names().dns == names.dns);
  CHECK(csr->names().uris == names.uris);
}

TEST_CASE("CSR problems are told apart", "[tls][pki]") {
  auto garbage = CertificateRequest::from_pem("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n");
  REQUIRE(!garbage.has_value());
  CHECK(garbage.error().problem == CsrProblem::kMalformed);
  CHECK(to_string(garbage.error().problem) == "malformed csr");

  // A valid CSR with one character of its base64 body changed near the end, which is
  // where the signature lives.
  auto key = PrivateKey::generate_p256();
  std::string pem = *make_csr_pem(*key, SubjectNames{"x", {"x.example"}, {}});
  size_t end = pem.find("-----END");
  size_t pos = end - 6;  // inside the last base64 line, before its padding
  pem[pos] = pem[pos] == 'A' ? 'B' : 'A';
  auto tampered = CertificateRequest::from_pem(pem);
  REQUIRE(!tampered.has_value());
  // Depending on the byte, the DER still parses (bad signature) or not (malformed).
  CHECK((tampered.error().problem == CsrProblem::kBadSignature ||
         tampered.error().problem == CsrProblem::kMalformed));
}

TEST_CASE("a root, an issuer and a leaf chain together", "[tls][pki]") {
  TestPki pki;
  CHECK(pki.root.certificate.is_ca());
  CHECK(pki.issuer.certificate.is_ca());
  CHECK(pki.root.certificate.common_name() == "test root");
  CHECK(key_matches(pki.issuer.certificate, pki.issuer.key));
  CHECK(!key_matches(pki.issuer.certificate, pki.root.key));
  auto now = std::chrono::system_clock::now();
  CHECK(verify_chain(pki.issuer.certificate, {}, {pki.root.certificate}, now).has_value());

  Credentials leaf = pki.leaf("default", "web");
  CHECK(!leaf.leaf.is_ca());
  CHECK(leaf.leaf.dns_names() ==
        std::vector<std::string>{"web.default.serviceaccount.identity.lmesh.cluster.local"});
  CHECK(leaf.leaf.uris() == std::vector<std::string>{"spiffe://cluster.local/ns/default/sa/web"});
  CHECK(key_matches(leaf.leaf, leaf.key));
  CHECK(verify_chain(leaf.leaf, {pki.issuer.certificate}, {pki.root.certificate}, now));
  // Without the issuer the chain is broken; under another root it does not verify.
  CHECK(!verify_chain(leaf.leaf, {}, {pki.root.certificate}, now));
  TestPki other("other");
  CHECK(!verify_chain(leaf.leaf, {pki.issuer.certificate}, {other.root.certificate}, now));
  // Outside its lifetime it does not verify either.
  CHECK(!verify_chain(leaf.leaf, {pki.issuer.certificate}, {pki.root.certificate}, now + 2h));
}

TEST_CASE("a leaf's validity is what was asked, clipped to the issuer's", "[tls][pki]") {
  TestPki pki;
  auto now = std::chrono::system_clock::now();
  Credentials leaf = pki.leaf("ns", "sa", -20s, 600s);
  auto lifetime = leaf.leaf.not_after() - leaf.leaf.not_before();
  CHECK(lifetime == 620s);
  CHECK(std::chrono::abs(leaf.leaf.not_before() - (now - 20s)) <= 2s);
  Credentials long_lived = pki.leaf("ns", "sa", -20s, 48h);
  CHECK(long_lived.leaf.not_after() == pki.issuer.certificate.not_after());
}

TEST_CASE("PEM bundles and fingerprints", "[tls][pki]") {
  TestPki a("a");
  TestPki b("b");
  std::string bundle = a.root.certificate.to_pem() + b.root.certificate.to_pem();
  auto all = Certificate::all_from_pem(bundle);
  REQUIRE(all.has_value());
  REQUIRE(all->size() == 2);
  CHECK((*all)[1].common_name() == "b root");
  CHECK(!Certificate::all_from_pem("").has_value());
  CHECK(!Certificate::all_from_pem(bundle + "-----BEGIN CERTIFICATE-----\n!!\n-----END "
                                            "CERTIFICATE-----\n")
             .has_value());
  std::string fp = a.root.certificate.sha256_fingerprint();
  CHECK(fp.size() == 32 * 3 - 1);
  CHECK(fp != b.root.certificate.sha256_fingerprint());
}

TEST_CASE("identity names", "[tls][identity]") {
  ServiceAccountIdentity id{"default", "web"};
  CHECK(id.dns_name() == "web.default.serviceaccount.identity.lmesh.cluster.local");
  CHECK(id.spiffe_id() == "spiffe://cluster.local/ns/default/sa/web");
  CHECK(ServiceAccountIdentity::from_dns_name(id.dns_name()) == id);
  CHECK(ServiceAccountIdentity::from_k8s_username("system:serviceaccount:default:web") == id);
  CHECK(ServiceAccountIdentity::from_slash_form("default/web") == id);
  CHECK(!ServiceAccountIdentity::from_k8s_username("system:node:web"));
  CHECK(!ServiceAccountIdentity::from_slash_form("default/Web"));
  CHECK(!ServiceAccountIdentity::from_slash_form("default/a/b"));
  CHECK(!ServiceAccountIdentity::from_dns_name("web.default.svc.cluster.local"));
}

}  // namespace
}  // namespace lmesh::tls
