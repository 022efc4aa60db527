// An X.509 certificate, parsed once and read through accessors: names, validity, fingerprint.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

struct x509_st;

namespace lmesh::tls {

class Certificate {
 public:
  // The first certificate in `pem`; other PEM blocks are ignored.
  static Result<Certificate> from_pem(std::string_view pem);
  // Every certificate in `pem`, in order (a chain or a trust-anchor bundle); at least one.
  static Result<std::vector<Certificate>> all_from_pem(std::string_view pem);
  // Takes one reference to `cert` (the caller keeps its own).
  static Certificate from_native(x509_st* cert);

  std::string to_pem() const;

  std::string common_name() const;
  std::vector<std::string> dns_names() const;  // subjectAltName DNS entries
  std::vector<std::string> uris() const;       // subjectAltName URI entries
  std::chrono::system_clock::time_point not_before() const;
  std::chrono::system_clock::time_point not_after() const;
  bool is_ca() const;
  // SHA-256 of the DER encoding, as "AB:CD:..." (what `openssl x509 -fingerprint` prints).
  std::string sha256_fingerprint() const;

  x509_st* native() const { return cert_.get(); }

 private:
  explicit Certificate(std::shared_ptr<x509_st> cert) : cert_(std::move(cert)) {}
  std::shared_ptr<x509_st> cert_;
};

// Checks that `leaf` chains through `intermediates` to one of `anchors` at time `at`, and that
// every certificate is within its validity period then.
Result<void> verify_chain(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                          const std::vector<Certificate>& anchors,
                          std::chrono::system_clock::time_point at);

}  // namespace lmesh::tls
