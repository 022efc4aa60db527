#include "identity/certificate_authority.h"

#include "common/fs/read_file.h"

namespace lmesh::identity {

Result<CertificateAuthority> CertificateAuthority::load(const IssuerFiles& files) {
  auto anchors_pem = fs::read_file(files.trust_anchors);
  if (!anchors_pem) return fail(anchors_pem.error());
  auto anchors = tls::Certificate::all_from_pem(*anchors_pem);
  if (!anchors) return fail(Error::wrap(anchors.error(), "trust anchors " + files.trust_anchors));

  auto cert_pem = fs::read_file(files.issuer_cert);
  if (!cert_pem) return fail(cert_pem.error());
  auto cert = tls::Certificate::from_pem(*cert_pem);
  if (!cert) return fail(Error::wrap(cert.error(), "issuer certificate " + files.issuer_cert));

  auto key_pem = fs::read_file(files.issuer_key);
  if (!key_pem) return fail(key_pem.error());
  auto key = tls::PrivateKey::from_pem(*key_pem);
  if (!key) return fail(Error::wrap(key.error(), "issuer key " + files.issuer_key));

  return CertificateAuthority(std::move(*anchors),
                              tls::KeyedCertificate{std::move(*cert), std::move(*key)});
}

Result<void> CertificateAuthority::check(std::chrono::system_clock::time_point at) const {
  const tls::Certificate& cert = issuer_.certificate;
  if (!tls::key_matches(cert, issuer_.key)) {
    return fail(ErrorCode::kInvalidArgument,
                "the issuer key does not belong to the issuer certificate");
  }
  if (!tls::is_p256(issuer_.key.native())) {
    return fail(ErrorCode::kInvalidArgument, "the issuer key is not ECDSA P-256");
  }
  if (!cert.is_ca()) {
    return fail(ErrorCode::kInvalidArgument, "the issuer certificate is not a CA certificate");
  }
  // verify_chain also checks the validity period of the issuer and the anchors at `at`.
  if (auto ok = tls::verify_chain(cert, {}, anchors_, at); !ok) {
    return fail(Error::wrap(ok.error(), "the issuer does not chain to the trust anchors"));
  }
  return {};
}

Result<tls::Certificate> CertificateAuthority::issue(const tls::CertificateRequest& csr,
                                                     const tls::ServiceAccountIdentity& who,
                                                     std::chrono::system_clock::time_point now,
                                                     std::chrono::seconds lifetime,
                                                     std::chrono::seconds clock_skew) const {
  tls::LeafSpec spec;
  spec.names.common_name = who.dns_name();
  spec.names.dns = {who.dns_name()};
  spec.names.uris = {who.spiffe_id()};
  spec.not_before = now - clock_skew;
  spec.not_after = now + lifetime;
  return tls::issue_leaf(csr, spec, issuer_);
}

}  // namespace lmesh::identity
