// Making certificates: the trust anchor and issuer of `lmesh identity init`, and the short-lived
// leaves lmesh-identity signs. Everything is ECDSA P-256 with SHA-256.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"
#include "common/tls/certificate.h"
#include "common/tls/csr.h"
#include "common/tls/key.h"

namespace lmesh::tls {

struct KeyedCertificate {
  Certificate certificate;
  PrivateKey key;
};

// A self-signed root CA (the trust anchor), valid from now - backdate to now + validity.
Result<KeyedCertificate> make_root_ca(const std::string& common_name, std::chrono::seconds validity,
                                      std::chrono::seconds backdate = std::chrono::seconds(0));

// An intermediate CA signed by `parent` (the issuer lmesh-identity signs leaves with).
// pathlen 0: it may sign leaves only.
Result<KeyedCertificate> make_intermediate_ca(
    const std::string& common_name, std::chrono::seconds validity, const KeyedCertificate& parent,
    std::chrono::seconds backdate = std::chrono::seconds(0));

struct LeafSpec {
  SubjectNames names;  // what the certificate says; the caller has checked it against the CSR
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
};

// A leaf for the CSR's public key, signed by `issuer`: usable for TLS server and client
// authentication, not a CA. The leaf never outlives the issuer: not_after is clipped to it.
Result<Certificate> issue_leaf(const CertificateRequest& csr, const LeafSpec& spec,
                               const KeyedCertificate& issuer);

// Whether `key` is the private key of `cert`.
bool key_matches(const Certificate& cert, const PrivateKey& key);

}  // namespace lmesh::tls
