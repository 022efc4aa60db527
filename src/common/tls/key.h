// A private key held in memory. The proxy makes its own at start and never writes it anywhere
// (DESIGN.md "Identity"); lmesh-identity loads its issuer key from a PEM file.
//
// Like every type in this module, it hides the TLS library's types behind forward
// declarations, so code outside src/common/tls never includes an OpenSSL or BoringSSL header.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

struct evp_pkey_st;

namespace lmesh::tls {

class PrivateKey {
 public:
  // A fresh ECDSA P-256 key: the only key type the mesh issues or accepts.
  static Result<PrivateKey> generate_p256();
  static Result<PrivateKey> from_pem(std::string_view pem);

  // PKCS#8 PEM. Only `lmesh identity init` calls this, to write a CA's key.
  std::string to_pem() const;

  evp_pkey_st* native() const { return key_.get(); }

 private:
  explicit PrivateKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  std::shared_ptr<evp_pkey_st> key_;  // immutable once made, so copies may share it
};

// Whether `key` (a public or private key) is an ECDSA key on P-256.
bool is_p256(const evp_pkey_st* key);

}  // namespace lmesh::tls
