#include "common/tls/authority.h"

#include <openssl/bn.h>
#include <openssl/rand.h>

#include <algorithm>

#include "common/tls/native.h"
#include "common/tls/subject_alt_name.h"

namespace lmesh::tls {
namespace {

using Clock = std::chrono::system_clock;

// A positive 128-bit random serial (RFC 5280 §4.1.2.2 allows up to 20 octets).
bool set_random_serial(X509* cert) {
  uint8_t bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  bytes[0] &= 0x7f;
  std::unique_ptr<BIGNUM, native::FreeWith<BN_free>> bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  ASN1_INTEGER* serial = bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr;
  bool ok = serial != nullptr && X509_set_serialNumber(cert, serial) == 1;
  ASN1_INTEGER_free(serial);
  return ok;
}

bool set_validity(X509* cert, Clock::time_point from, Clock::time_point to) {
  return ASN1_TIME_set(X509_getm_notBefore(cert), Clock::to_time_t(from)) != nullptr &&
         ASN1_TIME_set(X509_getm_notAfter(cert), Clock::to_time_t(to)) != nullptr;
}

// Adds an extension written in OpenSSL's config syntax; only constant values go through here.
bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  native::Ext ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

X509_NAME* name_with_cn(X509* cert, const std::string& common_name) {
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.data()),
                             static_cast<int>(common_name.size()), -1, 0);
  return name;
}

// A CA certificate for `key`, signed by `parent` (itself when parent is null).
Result<Certificate> make_ca(const std::string& common_name, const PrivateKey& key,
                            std::chrono::seconds validity, std::chrono::seconds backdate,
                            const KeyedCertificate* parent, const char* basic_constraints) {
  native::X509Ptr cert(X509_new());
  Clock::time_point now = Clock::now();
  Clock::time_point not_after = now + validity;
  if (parent != nullptr) not_after = std::min(not_after, parent->certificate.not_after());
  X509* issuer = parent != nullptr ? parent->certificate.native() : cert.get();
  bool ok = cert && X509_set_version(cert.get(), 2) == 1 && set_random_serial(cert.get()) &&
            set_validity(cert.get(), now - backdate, not_after) &&
            name_with_cn(cert.get(), common_name) != nullptr &&
            X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) == 1 &&
            X509_set_pubkey(cert.get(), key.native()) == 1 &&
            add_extension(cert.get(), issuer, NID_basic_constraints, basic_constraints) &&
            add_extension(cert.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign") &&
            add_extension(cert.get(), issuer, NID_subject_key_identifier, "hash") &&
            add_extension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  const PrivateKey& signer = parent != nullptr ? parent->key : key;
  if (!ok || X509_sign(cert.get(), signer.native(), EVP_sha256()) == 0) {
    return fail(native::error(ErrorCode::kInternal, "making a CA certificate"));
  }
  return Certificate::from_native(cert.get());
}

}  // namespace

Result<KeyedCertificate> make_root_ca(const std::string& common_name, std::chrono::seconds validity,
                                      std::chrono::seconds backdate) {
  auto key = PrivateKey::generate_p256();
  if (!key) return fail(key.error());
  auto cert = make_ca(common_name, *key, validity, backdate, nullptr, "critical,CA:TRUE");
  if (!cert) return fail(cert.error());
  return KeyedCertificate{std::move(*cert), std::move(*key)};
}

Result<KeyedCertificate> make_intermediate_ca(const std::string& common_name,
                                              std::chrono::seconds validity,
                                              const KeyedCertificate& parent,
                                              std::chrono::seconds backdate) {
  auto key = PrivateKey::generate_p256();
  if (!key) return fail(key.error());
  auto cert = make_ca(common_name, *key, validity, backdate, &parent, "critical,CA:TRUE,pathlen:0");
  if (!cert) return fail(cert.error());
  return KeyedCertificate{std::move(*cert), std::move(*key)};
}

Result<Certificate> issue_leaf(const CertificateRequest& csr, const LeafSpec& spec,
                               const KeyedCertificate& issuer) {
  native::Pkey key(X509_REQ_get_pubkey(csr.native()));
  if (!key) return fail(native::error(ErrorCode::kInvalidArgument, "reading the CSR's key"));
  auto san = subject_alt_name_extension(spec.names);
  if (!san) return fail(san.error());
  native::X509Ptr cert(X509_new());
  X509* issuer_cert = issuer.certificate.native();
  Clock::time_point not_after = std::min(spec.not_after, issuer.certificate.not_after());
  bool ok = cert && X509_set_version(cert.get(), 2) == 1 && set_random_serial(cert.get()) &&
            set_validity(cert.get(), spec.not_before, not_after) &&
            (spec.names.common_name.empty() ||
             name_with_cn(cert.get(), spec.names.common_name) != nullptr) &&
            X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) == 1 &&
            X509_set_pubkey(cert.get(), key.get()) == 1 &&
            add_extension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE") &&
            add_extension(cert.get(), issuer_cert, NID_key_usage, "critical,digitalSignature") &&
            add_extension(cert.get(), issuer_cert, NID_ext_key_usage, "serverAuth,clientAuth") &&
            add_extension(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid:always") &&
            X509_add_ext(cert.get(), san->get(), -1) == 1;
  if (!ok || X509_sign(cert.get(), issuer.key.native(), EVP_sha256()) == 0) {
    return fail(native::error(ErrorCode::kInternal, "issuing a certificate"));
  }
  return Certificate::from_native(cert.get());
}

bool key_matches(const Certificate& cert, const PrivateKey& key) {
  bool ok = X509_check_private_key(cert.native(), key.native()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace lmesh::tls
