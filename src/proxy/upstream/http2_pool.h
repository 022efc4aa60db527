// Per-worker HTTP/2 upstream connections: one multiplexed connection per endpoint takes the new
// streams (Linkerd's shape: one connection per peer, per worker here, as nothing is shared
// between workers). When it is at the peer's SETTINGS_MAX_CONCURRENT_STREAMS, another one
// opens, up to kMaxConnectionsPerEndpoint; past that, streams wait in the least loaded one.
// (A single connection would cap the proxy at the peer's stream limit and queue the rest in
// nghttp2, where cancelling a waiting request walks the whole queue.) A connection that got
// GOAWAY, failed or is draining is retired: it finishes its streams while others take new ones.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "common/event/worker.h"
#include "common/net/socket_address.h"
#include "common/tls/session.h"
#include "proxy/config.h"
#include "proxy/direction.h"
#include "proxy/identity/mesh_tls.h"
#include "proxy/identity/upstream_tls.h"
#include "proxy/proxy_metrics.h"
#include "proxy/upstream/http2_connection.h"

namespace lmesh::proxy {

class Http2ClientPool {
 public:
  // `mesh_tls` is the worker's snapshot slot: connections to an endpoint with an expected
  // identity take the newest snapshot from it when they open.
  Http2ClientPool(event::Worker& worker, const ProxyConfig& config, Direction direction,
                  ProxyMetrics& metrics, const std::shared_ptr<const MeshTls>& mesh_tls,
                  const EndpointIdentities& identities);
  ~Http2ClientPool();
  Http2ClientPool(const Http2ClientPool&) = delete;
  Http2ClientPool& operator=(const Http2ClientPool&) = delete;

  // Where the per-request objects of these connections' streams come from.
  buffer::BlockPool& blocks() { return worker_.blocks(); }
  // The endpoint's connection for new streams, connecting a new one when none takes them.
  Http2ClientConnection& connection(const net::SocketAddress& endpoint);
  // Graceful shutdown: every connection finishes its streams and closes. Exchanges still in
  // flight on draining client connections may open new ones; close_all() ends those.
  void drain();
  void close_all();

 private:
  friend class Http2ClientConnection;
  // From Http2ClientConnection: it takes no new streams / its socket has closed.
  void retire(Http2ClientConnection& conn);
  void closed(Http2ClientConnection& conn);
  void learned_stream_limit(const net::SocketAddress& endpoint, uint32_t limit) {
    stream_limits_[endpoint] = limit;
  }
  // The newest TLS session ticket from an endpoint: the next connection there resumes.
  void learned_ticket(const net::SocketAddress& endpoint, tls::ResumptionTicket ticket) {
    if (ticket != nullptr) tickets_[endpoint] = std::move(ticket);
  }
  ProxyMetrics& metrics() { return metrics_; }
  Direction direction() const { return direction_; }
  // The TLS layer for a new connection to `endpoint`: none (h2c) when no identity is expected
  // there; an error when one is expected but this proxy has no certificate yet.
  Result<std::unique_ptr<tls::Session>> tls_for(const net::SocketAddress& endpoint);

  event::Worker& worker_;
  const ProxyConfig& config_;
  Direction direction_;
  ProxyMetrics& metrics_;
  const std::shared_ptr<const MeshTls>& mesh_tls_;
  const EndpointIdentities& identities_;
  static constexpr size_t kMaxConnectionsPerEndpoint = 8;
  static constexpr uint32_t kAssumedStreamLimit = 100;  // RFC 9113 §6.5.2 suggests >= 100

  std::unordered_map<net::SocketAddress, std::vector<Http2ClientConnection*>> current_;
  std::unordered_map<Http2ClientConnection*, std::unique_ptr<Http2ClientConnection>> all_;
  // Each endpoint's SETTINGS_MAX_CONCURRENT_STREAMS as last seen: a new connection assumes it
  // until its own SETTINGS arrive, so a burst never opens more streams than the peer takes.
  std::unordered_map<net::SocketAddress, uint32_t> stream_limits_;
  std::unordered_map<net::SocketAddress, tls::ResumptionTicket> tickets_;
};

}  // namespace lmesh::proxy
