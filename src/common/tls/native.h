// Private to src/common/tls: owners for the TLS library's objects and its error queue, written
// once for BoringSSL and OpenSSL 3 alike.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace lmesh::tls::native {

template <auto FreeFn>
struct FreeWith {
  template <class T>
  void operator()(T* p) const {
    FreeFn(p);
  }
};

using Bio = std::unique_ptr<BIO, FreeWith<BIO_free>>;
using Pkey = std::unique_ptr<EVP_PKEY, FreeWith<EVP_PKEY_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, FreeWith<EVP_PKEY_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, FreeWith<X509_free>>;
using Req = std::unique_ptr<X509_REQ, FreeWith<X509_REQ_free>>;
using Ext = std::unique_ptr<X509_EXTENSION, FreeWith<X509_EXTENSION_free>>;
using Name = std::unique_ptr<X509_NAME, FreeWith<X509_NAME_free>>;
using Store = std::unique_ptr<X509_STORE, FreeWith<X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, FreeWith<X509_STORE_CTX_free>>;
using Asn1Time = std::unique_ptr<ASN1_TIME, FreeWith<ASN1_TIME_free>>;
// sk_X509_free is a macro in OpenSSL 3, so it cannot be a template argument.
struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
using X509Stack = std::unique_ptr<STACK_OF(X509), X509StackFree>;
using GeneralNames = std::unique_ptr<GENERAL_NAMES, FreeWith<GENERAL_NAMES_free>>;

// A read-only memory BIO over `bytes` (which must outlive it).
inline Bio read_bio(std::string_view bytes) {
  return Bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}
// What a memory BIO holds, as a string.
std::string bio_contents(BIO* bio);

// Drains the library's error queue into one line ("what: reason; reason").
std::string drain_errors(std::string_view what);
// An Error of `code` whose message ends with the library's reasons.
Error error(ErrorCode code, std::string_view what);

// The subjectAltName DNS and URI entries of `names`.
void collect_names(const GENERAL_NAMES* names, std::vector<std::string>* dns,
                   std::vector<std::string>* uris);

// Shares ownership of one reference to a library object.
template <class T, auto FreeFn>
std::shared_ptr<T> share(T* p) {
  return std::shared_ptr<T>(p, FreeWith<FreeFn>());
}

}  // namespace lmesh::tls::native
