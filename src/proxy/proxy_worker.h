// Everything one worker thread owns for the proxy: its listeners, its connections, its
// upstream pools and its metrics shard. Nothing here is touched by another thread; the
// control thread reaches it only through Worker::post().
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "common/event/worker.h"
#include "common/metrics/snapshot.h"
#include "common/net/listener.h"
#include "proxy/config.h"
#include "proxy/direction.h"
#include "proxy/discovery/discovery_cache.h"
#include "proxy/discovery/endpoint_identities.h"
#include "proxy/identity/mesh_tls.h"
#include "proxy/log_limiter.h"
#include "proxy/mirror/mirror.h"
#include "proxy/proxy_metrics.h"
#include "proxy/tap/worker_taps.h"
#include "proxy/upstream/http1_pool.h"
#include "proxy/upstream/http2_pool.h"

namespace lmesh::proxy {

class ProxyConnection;

class ProxyWorker {
 public:
  // `on_drained` runs on this worker's thread once a drain has closed every connection.
  ProxyWorker(event::Worker& worker, std::shared_ptr<const ProxyConfig> config,
              std::function<void()> on_drained);
  ~ProxyWorker();
  ProxyWorker(const ProxyWorker&) = delete;
  ProxyWorker& operator=(const ProxyWorker&) = delete;

  // Binds this worker's copy of a listener (SO_REUSEPORT). Called before the worker's thread
  // starts; returns the bound address (the real port when `address` asked for port 0).
  Result<net::SocketAddress> listen(Direction direction, const net::SocketAddress& address);
  // The same for a listener that stands for `target` (ServiceListener).
  Result<net::SocketAddress> listen_for(Direction direction, const net::SocketAddress& address,
                                        const net::SocketAddress& target);

  event::Worker& worker() { return worker_; }
  const ProxyConfig& config() const { return *config_; }
  ProxyMetrics& metrics() { return metrics_; }
  UpstreamPool& pool(Direction d) {
    return d == Direction::kInbound ? inbound_pool_ : outbound_pool_;
  }
  Http2ClientPool& h2_pool(Direction d) {
    return d == Direction::kInbound ? inbound_h2_pool_ : outbound_h2_pool_;
  }
  bool draining() const { return draining_; }
  // This worker's copy of the newest mesh TLS snapshot (null until a certificate arrived).
  const std::shared_ptr<const MeshTls>& mesh_tls() const { return mesh_tls_; }
  void set_mesh_tls(std::shared_ptr<const MeshTls> snapshot) { mesh_tls_ = std::move(snapshot); }
  LogLimiter& log_limiter() { return log_limiter_; }
  // Who each upstream endpoint must prove to be (discovery, else --meshed-endpoints).
  const EndpointIdentities& endpoint_identities() const { return identities_; }
  MirrorSet& mirrors() { return mirrors_; }
  // The taps open now (set by the control thread through post()).
  WorkerTaps& taps() { return taps_; }
  // This worker's discovery cache; null when the proxy has no destination service.
  DiscoveryCache* discovery() { return discovery_.get(); }
  // Turns discovery on (before the worker's thread starts): `ask` reaches the control thread.
  void enable_discovery(DiscoveryCache::Ask ask) {
    discovery_ = std::make_unique<DiscoveryCache>(
        worker_,
        DiscoveryCache::Timeouts{.answer = config_->discovery_timeout,
                                 .failfast = config_->failfast_timeout},
        identities_, std::move(ask));
  }
  // A request the proxy answered or ended itself: counted in http_errors_total and logged,
  // rate-limited per reason (info when the client caused it, warn otherwise). `via` tells
  // the protocol apart in the line (e.g. " (HTTP/2)").
  void report_error(Direction direction, ProxyError reason, const net::SocketAddress& peer,
                    const Error& cause, std::string_view via = {});

  // Loop thread. Stops accepting and asks every connection to finish; on_drained runs once
  // none is left.
  void drain();
  // Loop thread. Closes everything now and stops the worker's loop.
  void shutdown();

 private:
  friend class ProxyConnection;
  void link(ProxyConnection* c);
  void unlink(ProxyConnection* c);
  void on_accept(Direction direction, uv_stream_t* server);
  template <class Fn>
  void for_each_connection(Fn&& fn);

  event::Worker& worker_;
  std::shared_ptr<const ProxyConfig> config_;
  std::function<void()> on_drained_;
  ProxyMetrics metrics_;
  WorkerTaps taps_;
  std::shared_ptr<const MeshTls> mesh_tls_;
  LogLimiter log_limiter_;
  EndpointIdentities identities_;
  std::unique_ptr<DiscoveryCache> discovery_;
  UpstreamPool inbound_pool_;
  UpstreamPool outbound_pool_;
  Http2ClientPool inbound_h2_pool_;
  Http2ClientPool outbound_h2_pool_;
  MirrorSet mirrors_{*this};  // after the pools: mirrors end before the pools go
  std::unique_ptr<net::Listener> inbound_listener_;
  std::unique_ptr<net::Listener> outbound_listener_;
  std::vector<std::unique_ptr<net::Listener>> service_listeners_;  // config's, in order
  ProxyConnection* connections_ = nullptr;                         // intrusive list head
  size_t connection_count_ = 0;
  bool draining_ = false;
};

}  // namespace lmesh::proxy
