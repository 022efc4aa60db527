// Per-worker HTTP/2 upstream connections: one multiplexed connection per endpoint takes every
// new stream (Linkerd's shape: one connection per peer, per worker here, as nothing is shared
// between workers). A connection that got GOAWAY, failed or is draining is retired: it
// finishes its streams while a fresh one takes the new ones.
#pragma once

#include <memory>
#include <unordered_map>

#include "common/event/worker.h"
#include "common/net/socket_address.h"
#include "proxy/config.h"
#include "proxy/http2/client_connection.h"
#include "proxy/proxy_metrics.h"

namespace lmesh::proxy {

class Http2ClientPool {
 public:
  Http2ClientPool(event::Worker& worker, const ProxyConfig& config, const TcpMetrics& metrics);
  ~Http2ClientPool();
  Http2ClientPool(const Http2ClientPool&) = delete;
  Http2ClientPool& operator=(const Http2ClientPool&) = delete;

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

  event::Worker& worker_;
  const ProxyConfig& config_;
  const TcpMetrics& metrics_;
  std::unordered_map<net::SocketAddress, Http2ClientConnection*> current_;
  std::unordered_map<Http2ClientConnection*, std::unique_ptr<Http2ClientConnection>> all_;
};

}  // namespace lmesh::proxy
