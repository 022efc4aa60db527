// Per-worker pool of HTTP/1.1 upstream connections, keyed by endpoint. Keep-alive connections
// go back to the pool after a clean exchange and are reused last-in-first-out (the warmest
// first); at most --pool-max-idle wait per endpoint, each for at most --pool-idle-timeout.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "common/event/worker.h"
#include "common/net/socket_address.h"
#include "proxy/config.h"
#include "proxy/direction.h"
#include "proxy/discovery/endpoint_identities.h"
#include "proxy/identity/mesh_tls.h"
#include "proxy/proxy_metrics.h"
#include "proxy/upstream/http1_connection.h"

namespace lmesh::proxy {

class UpstreamPool {
 public:
  // Connections to an endpoint with an expected identity are mutual TLS (no ALPN: HTTP/1,
  // for the upgrades that cannot cross the HTTP/2 hop), with the worker's newest snapshot.
  UpstreamPool(event::Worker& worker, const ProxyConfig& config, Direction direction,
               ProxyMetrics& metrics, const std::shared_ptr<const MeshTls>& mesh_tls,
               const EndpointIdentities& identities);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  event::Worker& worker() { return worker_; }
  ProxyMetrics& metrics() { return metrics_; }
  Direction direction() const { return direction_; }
  const ProxyConfig& config() const { return config_; }

  // An idle connection to `endpoint`, or a new one (connecting) when none waits.
  UpstreamConnection& acquire(const net::SocketAddress& endpoint,
                              UpstreamConnection::Observer& observer, bool head_request);
  // The exchange is over: a reusable connection waits for the next one, any other closes.
  void release(UpstreamConnection& conn);
  // The connection leaves the pool for good with its socket (after 101 Switching Protocols).
  MeteredSocket take_socket(UpstreamConnection& conn);
  // Graceful shutdown: idle connections close now, and every connection handed back later
  // closes instead of waiting for another exchange.
  void drain();
  void close_all();

 private:
  friend class UpstreamConnection;
  // From UpstreamConnection: it is idle, or it is no longer usable and closing, or closed.
  void forget_idle(UpstreamConnection& conn);
  void closed(UpstreamConnection& conn);

  event::Worker& worker_;
  const ProxyConfig& config_;
  Direction direction_;
  ProxyMetrics& metrics_;
  const std::shared_ptr<const MeshTls>& mesh_tls_;
  const EndpointIdentities& identities_;
  std::unordered_map<net::SocketAddress, std::vector<UpstreamConnection*>> idle_;
  std::unordered_map<UpstreamConnection*, std::unique_ptr<UpstreamConnection>> all_;
  bool draining_ = false;
};

}  // namespace lmesh::proxy
