// The CA lmesh-identity signs with: the trust anchors (roots every proxy trusts) and the
// issuer (an intermediate and its key, which never leave this process). Loaded once at start
// from PEM files and shared read-only.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/tls/authority.h"
#include "common/tls/certificate.h"
#include "common/tls/csr.h"
#include "common/tls/identity_name.h"

namespace lmesh::identity {

struct IssuerFiles {
  std::string trust_anchors;  // PEM bundle of one or more roots
  std::string issuer_cert;    // PEM: the issuer first; any further certificates are ignored
  std::string issuer_key;     // PEM private key of the issuer
};

class CertificateAuthority {
 public:
  CertificateAuthority(std::vector<tls::Certificate> anchors, tls::KeyedCertificate issuer)
      : anchors_(std::move(anchors)), issuer_(std::move(issuer)) {}

  // Reads and parses the files; errors name the file. Does not judge the result: see check().
  static Result<CertificateAuthority> load(const IssuerFiles& files);

  // Whether the issuer can sign at `at`: its key is the certificate's, it is a CA, and it
  // chains to a trust anchor with every certificate valid then. The error says what is wrong.
  Result<void> check(std::chrono::system_clock::time_point at) const;

  // A leaf for `csr`'s key naming `who` (DNS SAN, SPIFFE URI SAN), valid from
  // `now - clock_skew` (clients whose clocks lag a little accept it at once) to
  // `now + lifetime`, clipped to the issuer's own end.
  Result<tls::Certificate> issue(const tls::CertificateRequest& csr,
                                 const tls::ServiceAccountIdentity& who,
                                 std::chrono::system_clock::time_point now,
                                 std::chrono::seconds lifetime,
                                 std::chrono::seconds clock_skew) const;

  const std::vector<tls::Certificate>& anchors() const { return anchors_; }
  const tls::Certificate& issuer_certificate() const { return issuer_.certificate; }

 private:
  std::vector<tls::Certificate> anchors_;
  tls::KeyedCertificate issuer_;
};

}  // namespace lmesh::identity
