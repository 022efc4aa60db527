// The proxy's admin endpoint (:4191): /live, /ready and /metrics over HTTP/1.1, on the
// control thread's loop so that scrapes never run on a worker's request path.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/event/worker.h"
#include "common/net/listener.h"
#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::proxy {

class AdminConnection;

class AdminServer {
 public:
  // Produces the metrics text asynchronously (it gathers every worker's shard first).
  using MetricsFn = std::function<void(std::function<void(std::string)> reply)>;
  using ReadyFn = std::function<bool()>;

  AdminServer(event::Worker& control, ReadyFn ready, MetricsFn metrics);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  Result<net::SocketAddress> listen(const net::SocketAddress& address);
  // Stops accepting and closes every admin connection.
  void close();

 private:
  friend class AdminConnection;
  void on_accept(uv_stream_t* server);
  void forget(uint64_t id);

  event::Worker& control_;
  ReadyFn ready_;
  MetricsFn metrics_;
  std::unique_ptr<net::Listener> listener_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, AdminConnection*> connections_;
};

}  // namespace lmesh::proxy
