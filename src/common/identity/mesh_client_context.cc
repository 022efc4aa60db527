#include "common/identity/mesh_client_context.h"

namespace lmesh::identity {

Result<std::shared_ptr<const tls::Context>> make_mesh_client_context(
    const tls::Credentials& credentials, const std::vector<tls::Certificate>& trust_anchors,
    std::vector<std::string> alpn) {
  tls::ContextOptions o;
  o.role = tls::Role::kClient;
  o.credentials = credentials;
  o.trust_anchors = trust_anchors;
  o.alpn = std::move(alpn);
  return tls::Context::make(o);
}

}  // namespace lmesh::identity
