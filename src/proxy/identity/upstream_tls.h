// Mutual TLS towards meshed endpoints, the same for every kind of upstream connection (HTTP/2
// pool, HTTP/1 pool, opaque relay): whether a connection needs it, the session it starts
// with, and how its outcome is reported (DESIGN.md "Identity").
#pragma once

#include <memory>
#include <optional>

#include "common/net/socket_address.h"
#include "common/net/tcp_connection.h"
#include "common/result.h"
#include "common/tls/session.h"
#include "proxy/direction.h"
#include "proxy/discovery/endpoint_identities.h"
#include "proxy/identity/mesh_tls.h"
#include "proxy/proxy_metrics.h"

namespace lmesh::proxy {

enum class MeshAlpn { kH2, kOpaque, kNone };

// The TLS layer for a new connection to `endpoint`: null (plaintext) when no identity is
// expected there; an error (kNoIdentity) when one is but this proxy holds no certificate yet,
// because an endpoint that must prove who it is never gets plaintext instead.
Result<std::unique_ptr<tls::Session>> upstream_tls(const EndpointIdentities& identities,
                                                   Direction direction,
                                                   const std::shared_ptr<const MeshTls>& mesh,
                                                   const net::SocketAddress& endpoint,
                                                   MeshAlpn alpn,
                                                   tls::ResumptionTicket resume = nullptr);

// A connection's TLS layer, if it is a mesh TLS session.
tls::Session* mesh_session(const net::TcpConnection& tcp);

// Counts a finished handshake on `tcp` (success or resumed).
void count_handshake_done(ProxyMetrics& metrics, Direction direction,
                          const net::TcpConnection& tcp);
// Counts a failed handshake and says how the request fails: identity mismatch or not.
ProxyError count_handshake_failed(ProxyMetrics& metrics, Direction direction, const Error& error);

}  // namespace lmesh::proxy
