// lmesh-destination's HTTP API (HTTP/2 and HTTP/1.1 on one port, DESIGN.md "Wire API"):
//   GET /v1/resolve?authority=host:port   newline-delimited JSON endpoint updates
//   GET /v1/profile?authority=host:port   newline-delimited JSON profiles
//   GET /metrics, GET /ready (200 once the backend delivered its state), GET /live
// An authority no service has is 404 {"error":"unknown authority"} (the proxy then forwards to
// the original destination); one without a port is 400.
#pragma once

#include "common/api/server.h"
#include "common/event/worker.h"
#include "common/net/socket_address.h"
#include "common/result.h"
#include "destination/destination_metrics.h"
#include "destination/store.h"

namespace lmesh::destination {

class DestinationServer {
 public:
  // `store` and `metrics` must outlive the server.
  DestinationServer(event::Worker& worker, Store& store, DestinationMetrics& metrics);

  Result<net::SocketAddress> listen(const net::SocketAddress& address) {
    return server_.listen(address);
  }
  // Closes every connection; their streams leave the store (on_close).
  void close() { server_.close(); }
  size_t connection_count() const { return server_.connection_count(); }

 private:
  void watch(StreamKind kind, const api::Request& request, std::shared_ptr<api::Response> response);

  Store& store_;
  DestinationMetrics& metrics_;
  api::Server server_;
};

}  // namespace lmesh::destination
