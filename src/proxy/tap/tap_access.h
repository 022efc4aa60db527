// Who may open a tap on the admin port (issue "Live traffic": "In a mesh with identities, only
// the tap service's identity may open a tap (mTLS); locally, loopback only."). A tap shows
// every request's method, authority and path, and some headers: in a mesh, being on the
// host's loopback proves nothing about who is asking (every pod's sidecar shares a host with
// others in `lmesh up`), so with an identity only a proven client certificate counts.
#pragma once

#include <string>
#include <string_view>

#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::proxy {

struct TapAccess {
  // The identity a tap client must prove over mTLS (--tap-identity) when the proxy has an
  // identity of its own; empty: the proxy has none, and loopback clients may tap.
  std::string required_identity;
};

// Whether a client at `peer` that proved `peer_identity` over TLS (empty: none) may tap.
// The error's message is the 403 detail, naming what was needed and what was seen.
Result<void> check_tap_access(const TapAccess& access, const net::SocketAddress& peer,
                              std::string_view peer_identity);

}  // namespace lmesh::proxy
