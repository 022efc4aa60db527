#include "common/tls/csr.h"

#include "common/tls/native.h"
#include "common/tls/subject_alt_name.h"

namespace lmesh::tls {
namespace {

struct ExtensionStackFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
  }
};
using ExtensionStack = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionStackFree>;

std::string subject_common_name(X509_NAME* subject) {
  int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (i < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

}  // namespace

std::string_view to_string(CsrProblem problem) {
  switch (problem) {
    case CsrProblem::kMalformed: return "malformed csr";
    case CsrProblem::kBadSignature: return "bad csr signature";
    case CsrProblem::kUnsupportedKey: return "unsupported key";
  }
  return "unknown";
}

Result<std::string> make_csr_pem(const PrivateKey& key, const SubjectNames& names) {
  native::Req req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.native()) != 1) {
    return fail(native::error(ErrorCode::kInternal, "building a CSR"));
  }
  if (!names.common_name.empty()) {
    X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(names.common_name.data()),
                               static_cast<int>(names.common_name.size()), -1, 0);
  }
  if (!names.dns.empty() || !names.uris.empty()) {
    auto san = subject_alt_name_extension(names);
    if (!san) return fail(san.error());
    ExtensionStack exts(sk_X509_EXTENSION_new_null());
    sk_X509_EXTENSION_push(exts.get(), san->release());
    if (X509_REQ_add_extensions(req.get(), exts.get()) != 1)
      return fail(native::error(ErrorCode::kInternal, "adding names to a CSR"));
  }
  if (X509_REQ_sign(req.get(), key.native(), EVP_sha256()) == 0) {
    return fail(native::error(ErrorCode::kInternal, "signing a CSR"));
  }
  native::Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  return native::bio_contents(bio.get());
}

std::expected<CertificateRequest, CsrRejection> CertificateRequest::from_pem(std::string_view pem) {
  auto reject = [](CsrProblem problem, std::string detail) {
    ERR_clear_error();
    return std::unexpected(CsrRejection{problem, std::move(detail)});
  };
  native::Bio bio = native::read_bio(pem);
  X509_REQ* raw = PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) {
    return reject(CsrProblem::kMalformed, native::drain_errors("not a PEM certificate request"));
  }
  auto req = native::share<X509_REQ, X509_REQ_free>(raw);
  native::Pkey key(X509_REQ_get_pubkey(raw));
  if (!key) return reject(CsrProblem::kMalformed, "the request's public key does not parse");
  if (!is_p256(key.get())) {
    return reject(CsrProblem::kUnsupportedKey, "only ECDSA P-256 keys are accepted");
  }
  if (X509_REQ_verify(raw, key.get()) != 1) {
    return reject(CsrProblem::kBadSignature, "the request's signature does not match its key");
  }
  SubjectNames names;
  names.common_name = subject_common_name(X509_REQ_get_subject_name(raw));
  ExtensionStack exts(X509_REQ_get_extensions(raw));
  if (exts) {
    int crit = 0;
    native::GeneralNames sans(static_cast<GENERAL_NAMES*>(
        X509V3_get_d2i(exts.get(), NID_subject_alt_name, &crit, nullptr)));
    // crit == -2: more than one subjectAltName; -1 with entries: one that does not parse.
    if (crit == -2 || (!sans && crit != -1)) {
      return reject(CsrProblem::kMalformed, "the request's subjectAltName does not parse");
    }
    native::collect_names(sans.get(), &names.dns, &names.uris);
  }
  ERR_clear_error();
  return CertificateRequest(std::move(req), std::move(names));
}

}  // namespace lmesh::tls
