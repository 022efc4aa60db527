// The proxy's admin endpoint (:4191): /live, /ready, /metrics and /tap, served by an api::Server on
// the control thread's loop so that scrapes never run on a worker's request path.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/api/server.h"
#include "common/event/worker.h"
#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::proxy {

class AdminServer {
 public:
  // Produces the metrics text asynchronously (it gathers every worker's shard first).
  using MetricsFn = std::function<void(std::function<void(std::string)> reply)>;
  using ReadyFn = std::function<bool()>;
  // GET /tap: streams live traffic events (src/tap/README.md).
  using TapFn = std::function<void(const api::Request&, std::shared_ptr<api::Response>)>;

  AdminServer(event::Worker& control, ReadyFn ready, MetricsFn metrics, TapFn tap);

  Result<net::SocketAddress> listen(const net::SocketAddress& address) {
    return server_.listen(address);
  }
  void close() { server_.close(); }

 private:
  api::Server server_;
};

}  // namespace lmesh::proxy
