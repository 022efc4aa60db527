// The client side of mesh mTLS, as every mesh workload builds it from the credentials its
// IdentityClient publishes: the proxy towards other proxies (proxy/identity/mesh_tls.cc) and
// lmesh-tap towards the proxies' admin ports. One builder so that the two cannot drift apart
// in what they present and trust (DESIGN.md "Identity": TLS 1.3 only, both sides
// authenticated, anchors from the mesh's bundle alone).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/tls/certificate.h"
#include "common/tls/context.h"

namespace lmesh::identity {

// Presents `credentials` (the leaf and its chain) when the server asks, verifies the server
// against `trust_anchors`, offers `alpn` (empty: no ALPN). Which name the server must prove is
// per connection (tls::ClientSessionOptions, api::ClientOptions::tls_server_name).
Result<std::shared_ptr<const tls::Context>> make_mesh_client_context(
    const tls::Credentials& credentials, const std::vector<tls::Certificate>& trust_anchors,
    std::vector<std::string> alpn);

}  // namespace lmesh::identity
