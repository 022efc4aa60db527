#include "common/tls/certificate.h"

#include <fmt/format.h>

#include "common/tls/native.h"

namespace lmesh::tls {
namespace {

std::shared_ptr<x509_st> share_x509(X509* cert) {
  return native::share<X509, X509_free>(cert);
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* t) {
  native::Asn1Time epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int seconds = 0;
  if (t == nullptr || !epoch || ASN1_TIME_diff(&days, &seconds, epoch.get(), t) != 1) {
    return std::chrono::system_clock::time_point{};
  }
  return std::chrono::system_clock::time_point{} + std::chrono::hours(24) * days +
         std::chrono::seconds(seconds);
}

}  // namespace

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  native::Bio bio = native::read_bio(pem);
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr) {
    return fail(native::error(ErrorCode::kInvalidArgument, "reading a PEM certificate"));
  }
  return Certificate(share_x509(cert));
}

Result<std::vector<Certificate>> Certificate::all_from_pem(std::string_view pem) {
  std::vector<Certificate> out;
  native::Bio bio = native::read_bio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.push_back(Certificate(share_x509(cert)));
  }
  // The loop ends with "no start line" at the end of the input; anything else is damage.
  unsigned long last = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (last != 0 && !clean_end) {
    return fail(native::error(ErrorCode::kInvalidArgument, "reading PEM certificates"));
  }
  ERR_clear_error();
  if (out.empty()) return fail(ErrorCode::kInvalidArgument, "no PEM certificate found");
  return out;
}

Certificate Certificate::from_native(x509_st* cert) {
  X509_up_ref(cert);
  return Certificate(share_x509(cert));
}

std::string Certificate::to_pem() const {
  native::Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert_.get());
  return native::bio_contents(bio.get());
}

std::string Certificate::common_name() const {
  X509_NAME* subject = X509_get_subject_name(cert_.get());
  int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (i < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::vector<std::string> Certificate::dns_names() const {
  std::vector<std::string> dns;
  native::GeneralNames names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert_.get(), NID_subject_alt_name, nullptr, nullptr)));
  native::collect_names(names.get(), &dns, nullptr);
  return dns;
}

std::vector<std::string> Certificate::uris() const {
  std::vector<std::string> uris;
  native::GeneralNames names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert_.get(), NID_subject_alt_name, nullptr, nullptr)));
  native::collect_names(names.get(), nullptr, &uris);
  return uris;
}

std::chrono::system_clock::time_point Certificate::not_before() const {
  return to_time_point(X509_get0_notBefore(cert_.get()));
}

std::chrono::system_clock::time_point Certificate::not_after() const {
  return to_time_point(X509_get0_notAfter(cert_.get()));
}

bool Certificate::is_ca() const {
  return X509_check_ca(cert_.get()) != 0;
}

std::string Certificate::sha256_fingerprint() const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert_.get(), EVP_sha256(), md, &len);
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    if (i > 0) out += ':';
    out += fmt::format("{:02X}", md[i]);
  }
  return out;
}

Result<void> verify_chain(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                          const std::vector<Certificate>& anchors,
                          std::chrono::system_clock::time_point at) {
  native::Store store(X509_STORE_new());
  for (const Certificate& anchor : anchors) X509_STORE_add_cert(store.get(), anchor.native());
  native::X509Stack untrusted(sk_X509_new_null());
  for (const Certificate& c : intermediates) sk_X509_push(untrusted.get(), c.native());
  native::StoreCtx ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf.native(), untrusted.get()) != 1) {
    return fail(native::error(ErrorCode::kInternal, "setting up certificate verification"));
  }
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()),
                             std::chrono::system_clock::to_time_t(at));
  if (X509_verify_cert(ctx.get()) != 1) {
    int code = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return fail(ErrorCode::kRefused, fmt::format("certificate does not verify: {}",
                                                 X509_verify_cert_error_string(code)));
  }
  return {};
}

}  // namespace lmesh::tls
