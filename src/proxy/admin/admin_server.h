// The proxy's admin endpoint (:4191): /live, /ready, /metrics and /tap, served by an api::Server on
// the control thread's loop so that scrapes never run on a worker's request path. With identity
// on it also terminates mTLS with the proxy's certificate, so that a client can prove who it
// is (the tap service, for /tap).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/api/server.h"
#include "common/event/worker.h"
#include "common/net/socket_address.h"
#include "common/result.h"
#include "common/tls/context.h"

namespace lmesh::proxy {

class AdminServer {
 public:
  // Produces the metrics text asynchronously (it gathers every worker's shard first).
  using MetricsFn = std::function<void(std::function<void(std::string)> reply)>;
  using ReadyFn = std::function<bool()>;
  // GET /tap: streams live traffic events (src/tap/README.md).
  using TapFn = std::function<void(const api::Request&, std::shared_ptr<api::Response>)>;

  // The proxy's current server context for the admin port, or null (no identity, or no
  // certificate yet): asked at each new TLS connection, so renewals apply without a restart.
  using TlsFn = std::function<std::shared_ptr<const tls::Context>()>;

  // Plaintext is always served too: kubelet probes and Prometheus scrape /live, /ready and
  // /metrics without a certificate.
  AdminServer(event::Worker& control, TlsFn tls, ReadyFn ready, MetricsFn metrics, TapFn tap);

  Result<net::SocketAddress> listen(const net::SocketAddress& address) {
    return server_.listen(address);
  }
  void close() { server_.close(); }

 private:
  api::Server server_;
};

}  // namespace lmesh::proxy
