#include "identity/ca_init.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/tls/authority.h"
#include "identity/files.h"

namespace lmesh::identity {

Result<NewCa> init_ca(const CaInitOptions& options) {
  if (options.out_dir.empty()) return fail(ErrorCode::kInvalidArgument, "no output directory");
  if (::mkdir(options.out_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return fail(ErrorCode::kIo, "cannot create " + options.out_dir + ": " + std::strerror(errno));
  }
  const std::string anchor_path = options.out_dir + "/" + kTrustAnchorFile;
  const std::string cert_path = options.out_dir + "/" + kIssuerCertFile;
  const std::string key_path = options.out_dir + "/" + kIssuerKeyFile;
  // All three are checked before any is written, so a refusal leaves the directory untouched.
  if (!options.force) {
    for (const std::string* path : {&anchor_path, &cert_path, &key_path}) {
      if (::access(path->c_str(), F_OK) == 0) {
        return fail(ErrorCode::kInvalidArgument,
                    *path + " already exists (use --force to overwrite it)");
      }
    }
  }

  // Valid from a few minutes ago: a proxy whose clock lags this machine's must not see the
  // mesh's CA as "not yet valid" (the leaves are backdated by the same reasoning).
  constexpr std::chrono::seconds kBackdate{300};
  auto root = tls::make_root_ca(kRootCommonName, options.root_validity, kBackdate);
  if (!root) return fail(Error::wrap(root.error(), "making the trust anchor"));
  auto issuer =
      tls::make_intermediate_ca(kIssuerCommonName, options.issuer_validity, *root, kBackdate);
  if (!issuer) return fail(Error::wrap(issuer.error(), "making the issuer"));

  // The key first: a directory with certificates but no key is easier to notice than the reverse.
  if (auto ok = write_file_atomically(key_path, issuer->key.to_pem(), 0600); !ok) {
    return fail(ok.error());
  }
  if (auto ok = write_file_atomically(cert_path, issuer->certificate.to_pem(), 0644); !ok) {
    return fail(ok.error());
  }
  if (auto ok = write_file_atomically(anchor_path, root->certificate.to_pem(), 0644); !ok) {
    return fail(ok.error());
  }
  return NewCa{root->certificate, issuer->certificate, anchor_path, cert_path, key_path};
}

}  // namespace lmesh::identity
