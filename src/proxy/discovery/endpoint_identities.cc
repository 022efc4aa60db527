#include "proxy/discovery/endpoint_identities.h"

namespace lmesh::proxy {

const std::string* EndpointIdentities::expected(const net::SocketAddress& endpoint) const {
  if (auto it = learned_.find(endpoint); it != learned_.end() && !it->second.identity.empty()) {
    return &it->second.identity;
  }
  return config_.expected_identity(endpoint);
}

bool EndpointIdentities::is_meshed(const net::SocketAddress& endpoint) const {
  if (auto it = learned_.find(endpoint); it != learned_.end() && !it->second.identity.empty()) {
    return true;
  }
  return config_.is_meshed(endpoint);
}

net::SocketAddress EndpointIdentities::opaque_transport(const net::SocketAddress& endpoint) const {
  auto it = learned_.find(endpoint);
  if (it == learned_.end() || it->second.inbound_port == 0) return endpoint;
  net::SocketAddress out = endpoint;
  out.set_port(it->second.inbound_port);
  return out;
}

void EndpointIdentities::replace(const std::vector<discovery::Endpoint>& before,
                                 const std::vector<discovery::Endpoint>& after) {
  // Add first, so an endpoint in both keeps its count above zero throughout.
  for (const discovery::Endpoint& e : after) {
    Learned& l = learned_[e.address];
    l.identity = e.identity;  // the newest announcement wins
    l.inbound_port = e.inbound_port;
    ++l.services;
  }
  for (const discovery::Endpoint& e : before) {
    auto it = learned_.find(e.address);
    if (it != learned_.end() && --it->second.services == 0) learned_.erase(it);
  }
}

}  // namespace lmesh::proxy
