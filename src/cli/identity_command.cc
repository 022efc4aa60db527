// `lmesh identity init --out DIR [--force]`: a new trust anchor and issuer for lmesh-identity
// (`lmesh-identity --issuer-dir DIR`). The CA-making code is identity/ca_init.h, shared with
// the service.
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "identity/ca_init.h"
#include "identity/rfc3339.h"

namespace lmesh::cli {
namespace {

constexpr char kInitUsage[] =
    "usage: lmesh identity init --out DIR [--force]\n\n"
    "Makes a trust anchor (root CA) and an issuer (intermediate CA), ECDSA P-256, each valid\n"
    "for one year, and writes DIR/ca.crt, DIR/issuer.crt and DIR/issuer.key (mode 0600).\n"
    "The root's private key is not kept. Start lmesh-identity with --issuer-dir DIR and give\n"
    "every proxy DIR/ca.crt as its trust anchor.\n\n"
    "flags:\n"
    "  --out DIR   where to write the files (created if missing)\n"
    "  --force     overwrite existing files\n";

void print_certificate(std::string_view what, const std::string& path,
                       const tls::Certificate& cert) {
  std::printf("%.*s: %s\n  subject CN: %s\n  valid: %s .. %s\n  SHA-256 fingerprint: %s\n",
              static_cast<int>(what.size()), what.data(), path.c_str(), cert.common_name().c_str(),
              identity::format_rfc3339(cert.not_before()).c_str(),
              identity::format_rfc3339(cert.not_after()).c_str(),
              cert.sha256_fingerprint().c_str());
}

int run_init(Args args) {
  identity::CaInitOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kInitUsage, stdout);
      return 0;
    } else if (a == "--force") {
      options.force = true;
    } else if (a == "--out" && i + 1 < args.size()) {
      options.out_dir = args[++i];
    } else if (a.starts_with("--out=")) {
      options.out_dir = a.substr(6);
    } else {
      std::fprintf(stderr, "lmesh identity init: unexpected argument '%s'\n\n%s", a.c_str(),
                   kInitUsage);
      return kExitUsage;
    }
  }
  if (options.out_dir.empty()) {
    std::fprintf(stderr, "lmesh identity init: --out DIR is required\n\n%s", kInitUsage);
    return kExitUsage;
  }
  auto made = identity::init_ca(options);
  if (!made) {
    std::fprintf(stderr, "lmesh identity init: %s\n", made.error().describe().c_str());
    return kExitFailure;
  }
  print_certificate("trust anchor", made->trust_anchor_path, made->root);
  print_certificate("issuer", made->issuer_cert_path, made->issuer);
  std::printf("issuer key: %s (mode 0600)\n", made->issuer_key_path.c_str());
  return 0;
}

constexpr Command kIdentityCommands[] = {
    {"init", "make a trust anchor and an issuer (--out DIR [--force])", &run_init},
};

}  // namespace

int run_identity(Args args) {
  return dispatch("lmesh identity", kIdentityCommands, args);
}

}  // namespace lmesh::cli
