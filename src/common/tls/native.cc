#include "common/tls/native.h"

namespace lmesh::tls::native {

std::string bio_contents(BIO* bio) {
  const uint8_t* data = nullptr;
  size_t len = 0;
#ifdef OPENSSL_IS_BORINGSSL
  BIO_mem_contents(bio, &data, &len);
#else
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  data = reinterpret_cast<const uint8_t*>(p);
  len = n > 0 ? static_cast<size_t>(n) : 0;
#endif
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::string drain_errors(std::string_view what) {
  std::string out(what);
  bool first = true;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += first ? ": " : "; ";
    out += buf;
    first = false;
  }
  return out;
}

Error error(ErrorCode code, std::string_view what) {
  return Error(code, drain_errors(what));
}

void collect_names(const GENERAL_NAMES* names, std::vector<std::string>* dns,
                   std::vector<std::string>* uris) {
  if (names == nullptr) return;
  for (size_t i = 0; i < static_cast<size_t>(sk_GENERAL_NAME_num(names)); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    const ASN1_STRING* s = nullptr;
    std::vector<std::string>* out = nullptr;
    if (name->type == GEN_DNS) {
      s = name->d.dNSName;
      out = dns;
    } else if (name->type == GEN_URI) {
      s = name->d.uniformResourceIdentifier;
      out = uris;
    }
    if (s == nullptr || out == nullptr) continue;
    out->emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<size_t>(ASN1_STRING_length(s)));
  }
}

}  // namespace lmesh::tls::native
