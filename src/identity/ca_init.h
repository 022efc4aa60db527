// Making a new CA for the mesh (`lmesh identity init --out DIR`): a trust anchor and an issuer,
// written as the three files lmesh-identity reads with `--issuer-dir DIR`.
//
// The root's private key is not written anywhere: it signs the issuer and is forgotten, so the
// trust anchor can never sign anything else. Rotating means a new `init` and distributing the
// new ca.crt, which is the safe default for a bootstrap tool; a long-lived root kept offline
// belongs to a real PKI and comes in with `--trust-anchors/--issuer-cert/--issuer-key`.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"
#include "common/tls/certificate.h"

namespace lmesh::identity {

// The file names inside an issuer directory.
inline constexpr char kTrustAnchorFile[] = "ca.crt";
inline constexpr char kIssuerCertFile[] = "issuer.crt";
inline constexpr char kIssuerKeyFile[] = "issuer.key";

inline constexpr char kRootCommonName[] = "root.identity.lmesh.cluster.local";
inline constexpr char kIssuerCommonName[] = "identity.lmesh.cluster.local";

struct CaInitOptions {
  std::string out_dir;
  bool force = false;  // overwrite existing files
  std::chrono::seconds root_validity{std::chrono::hours(24 * 365)};
  std::chrono::seconds issuer_validity{std::chrono::hours(24 * 365)};
};

struct NewCa {
  tls::Certificate root;
  tls::Certificate issuer;
  std::string trust_anchor_path;
  std::string issuer_cert_path;
  std::string issuer_key_path;
};

// Makes the root and issuer and writes DIR/ca.crt, DIR/issuer.crt and DIR/issuer.key (mode
// 0600), creating DIR if needed. Without `force`, refuses (writing nothing) if any of the three
// exists.
Result<NewCa> init_ca(const CaInitOptions& options);

}  // namespace lmesh::identity
