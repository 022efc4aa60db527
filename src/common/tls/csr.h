// Certificate signing requests: the proxy makes one for its in-memory key, lmesh-identity
// checks one before it issues anything.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/tls/key.h"

struct X509_req_st;

namespace lmesh::tls {

struct SubjectNames {
  std::string common_name;
  std::vector<std::string> dns;   // subjectAltName DNS entries
  std::vector<std::string> uris;  // subjectAltName URI entries
};

// A PEM CSR for `key` asking for `names`, signed with the key (SHA-256).
Result<std::string> make_csr_pem(const PrivateKey& key, const SubjectNames& names);

// Why a CSR was refused; lmesh-identity turns each into a status and a metric label.
enum class CsrProblem {
  kMalformed,       // not PEM, not a CSR, or its extensions do not parse
  kBadSignature,    // the CSR's signature does not verify with its own key
  kUnsupportedKey,  // not ECDSA P-256
};
std::string_view to_string(CsrProblem problem);

struct CsrRejection {
  CsrProblem problem;
  std::string detail;
};

class CertificateRequest {
 public:
  // Parses and checks a PEM CSR: well formed, self-signature valid, P-256 key.
  static std::expected<CertificateRequest, CsrRejection> from_pem(std::string_view pem);

  // What the requester asked for.
  const SubjectNames& names() const { return names_; }
  X509_req_st* native() const { return req_.get(); }

 private:
  CertificateRequest(std::shared_ptr<X509_req_st> req, SubjectNames names)
      : req_(std::move(req)), names_(std::move(names)) {}
  std::shared_ptr<X509_req_st> req_;
  SubjectNames names_;
};

}  // namespace lmesh::tls
