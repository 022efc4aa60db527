// Where traffic goes (README.md "Where a connection goes"): decided per connection from the
// listener, iptables' original destination and the configuration, and per HTTP/1 request from
// its absolute-form target or Host header when the connection alone does not say.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/http/message.h"
#include "common/net/socket_address.h"
#include "common/net/tcp_connection.h"
#include "proxy/config.h"
#include "proxy/direction.h"
#include "proxy/proxy_metrics.h"

namespace lmesh::proxy {

struct ConnectionTarget {
  // The pre-NAT destination, when iptables redirected the connection to the proxy.
  std::optional<net::SocketAddress> original_destination;
  // Where every byte of this connection goes, when the connection alone decides it.
  std::optional<net::SocketAddress> destination;
  // Inbound over mesh TLS: tls="true" and the client's proven identity.
  TlsLabel tls = TlsLabel::kFalse;
  std::string client_identity;

  // The port that decides whether detection is skipped (--opaque-ports).
  std::optional<uint16_t> port() const {
    if (original_destination) return original_destination->port();
    if (destination) return destination->port();
    return std::nullopt;
  }
};

ConnectionTarget target_for(Direction direction, const ProxyConfig& config,
                            const net::TcpConnection& accepted);

// The authority a request names: HTTP/2's :authority, else the absolute-form target's, else
// the Host header's.
std::optional<std::string_view> request_authority(const http::RequestHead& request);

// Where one HTTP request goes: an address, or a name the worker's resolver must turn into one.
struct RequestUpstream {
  std::optional<net::SocketAddress> address;
  net::HostPort name;  // when `address` is empty
};
// The connection's destination when it has one; else, outbound, the request's authority.
// Fails (kNotFound) when neither says: the request gets `no destination`.
Result<RequestUpstream> request_upstream(Direction direction, const ConnectionTarget& target,
                                         const http::RequestHead& request);
// True for "http://authority/path" targets (RFC 9112 §3.2.2).
bool is_absolute_form(std::string_view target);
// The origin-form ("/path?q") of an absolute-form target; any other target as it is.
std::string origin_form(std::string_view absolute_target);
// host[:port] → HostPort, port 80 by default.
std::optional<net::HostPort> parse_authority(std::string_view authority);

}  // namespace lmesh::proxy
