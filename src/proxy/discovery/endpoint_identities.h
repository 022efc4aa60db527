// Who each upstream endpoint must prove to be, per worker: learned from the destination
// service's endpoints (DESIGN.md "Identity": the client verifies that the server's identity
// is the one the destination service announced), else from --meshed-endpoints. An endpoint
// with an identity is behind another lmesh proxy: reached over the HTTP/2 mesh hop, with mTLS.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "common/discovery/endpoint.h"
#include "common/net/socket_address.h"
#include "proxy/config.h"

namespace lmesh::proxy {

class EndpointIdentities {
 public:
  explicit EndpointIdentities(const ProxyConfig& config) : config_(config) {}

  // The identity `endpoint` must present; null when none is known (plaintext).
  const std::string* expected(const net::SocketAddress& endpoint) const;
  // Behind another lmesh proxy: HTTP/1 requests travel to it as HTTP/2.
  bool is_meshed(const net::SocketAddress& endpoint) const;
  // Where a meshed opaque connection to `endpoint` goes (its proxy's inbound port, when the
  // destination service announced one); `endpoint` itself otherwise.
  net::SocketAddress opaque_transport(const net::SocketAddress& endpoint) const;
  bool identity_enabled() const { return config_.identity_enabled(); }

  // One service's endpoints changed from `before` to `after`. An address that several
  // services share is forgotten only when the last of them drops it.
  void replace(const std::vector<discovery::Endpoint>& before,
               const std::vector<discovery::Endpoint>& after);

 private:
  struct Learned {
    std::string identity;
    uint16_t inbound_port = 0;
    uint32_t services = 0;
  };
  const ProxyConfig& config_;
  std::unordered_map<net::SocketAddress, Learned> learned_;
};

}  // namespace lmesh::proxy
