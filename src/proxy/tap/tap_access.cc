#include "proxy/tap/tap_access.h"

namespace lmesh::proxy {

Result<void> check_tap_access(const TapAccess& access, const net::SocketAddress& peer,
                              std::string_view peer_identity) {
  if (access.required_identity.empty()) {
    if (peer.is_loopback()) return {};
    return fail(ErrorCode::kRefused, "tap is open to loopback clients only");
  }
  // With an identity, loopback plaintext is refused too: only the certificate says who it is.
  if (peer_identity.empty()) {
    return fail(ErrorCode::kRefused, "tap needs mTLS as " + access.required_identity);
  }
  if (peer_identity != access.required_identity) {
    return fail(ErrorCode::kRefused, "tap needs mTLS as " + access.required_identity + ", not " +
                                         std::string(peer_identity));
  }
  return {};
}

}  // namespace lmesh::proxy
