// A throwaway mesh PKI for tests, made at test time: a root, an issuer under it, and leaves
// for service-account identities, as lmesh-identity would issue them.
#pragma once

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "common/tls/authority.h"
#include "common/tls/context.h"
#include "common/tls/csr.h"
#include "common/tls/identity_name.h"

namespace lmesh::tls::testing {

using namespace std::chrono_literals;

struct TestPki {
  explicit TestPki(std::string name = "test")
      // Backdated like the leaves: certificates made in the same second they are checked in
      // were seen as "not yet valid" now and then.
      : root(*make_root_ca(name + " root", 24h, 60s)),
        issuer(*make_intermediate_ca(name + " issuer", 24h, root, 60s)) {}

  // A leaf for ns/sa valid from `from` to `to` (relative to now).
  Credentials leaf(const std::string& ns, const std::string& sa, std::chrono::seconds from = -60s,
                   std::chrono::seconds to = 3600s) const {
    ServiceAccountIdentity id{ns, sa};
    auto key = PrivateKey::generate_p256();
    REQUIRE(key.has_value());
    SubjectNames names{"", {id.dns_name()}, {id.spiffe_id()}};
    auto csr_pem = make_csr_pem(*key, names);
    REQUIRE(csr_pem.has_value());
    auto csr = CertificateRequest::from_pem(*csr_pem);
    REQUIRE(csr.has_value());
    auto now = std::chrono::system_clock::now();
    auto cert = issue_leaf(*csr, LeafSpec{names, now + from, now + to}, issuer);
    REQUIRE(cert.has_value());
    return Credentials{*cert, {issuer.certificate}, *key};
  }

  KeyedCertificate root;
  KeyedCertificate issuer;
};

inline std::string identity(const std::string& ns, const std::string& sa) {
  return ServiceAccountIdentity{ns, sa}.dns_name();
}

}  // namespace lmesh::tls::testing
