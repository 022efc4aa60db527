#include "common/tls/key.h"

#include <openssl/ec.h>

#include "common/tls/native.h"

namespace lmesh::tls {

Result<PrivateKey> PrivateKey::generate_p256() {
  native::PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx.get(), NID_X9_62_prime256v1) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &key) != 1) {
    return fail(native::error(ErrorCode::kInternal, "generating a P-256 key"));
  }
  return PrivateKey(native::share<EVP_PKEY, EVP_PKEY_free>(key));
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  native::Bio bio = native::read_bio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    return fail(native::error(ErrorCode::kInvalidArgument, "reading a PEM private key"));
  }
  return PrivateKey(native::share<EVP_PKEY, EVP_PKEY_free>(key));
}

std::string PrivateKey::to_pem() const {
  native::Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return native::bio_contents(bio.get());
}

bool is_p256(const evp_pkey_st* key) {
  if (key == nullptr || EVP_PKEY_id(key) != EVP_PKEY_EC) return false;
#ifdef OPENSSL_IS_BORINGSSL
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
  return ec != nullptr && EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) == NID_X9_62_prime256v1;
#else
  char group[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1) return false;
  return std::string_view(group, len) == SN_X9_62_prime256v1;
#endif
}

}  // namespace lmesh::tls
