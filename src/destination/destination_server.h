// lmesh-destination's HTTP API (HTTP/2 and HTTP/1.1 on one port, DESIGN.md "Wire API"):
//   GET /v1/resolve?authority=host:port   newline-delimited JSON endpoint updates
//   GET /v1/profile?authority=host:port   newline-delimited JSON profiles
//   GET /v1/pods?target=T&namespace=NS    the pods a target means, one JSON answer
//                                         (src/tap/README.md; pod_target.h)
//   GET /metrics, GET /ready (200 once the backend delivered its state), GET /live
// An authority no service has is 404 {"error":"unknown authority"} (the proxy then forwards to
// the original destination); one without a port is 400.
#pragma once

#include <string>

#include "common/api/server.h"
#include "common/event/worker.h"
#include "common/net/socket_address.h"
#include "common/result.h"
#include "destination/destination_metrics.h"
#include "destination/store.h"

namespace lmesh::destination {

class DestinationServer {
 public:
  // `store` and `metrics` must outlive the server. `cluster_domain` completes service names
  // for svc/NAME targets (NAME.<ns>.svc.<cluster domain>).
  DestinationServer(event::Worker& worker, Store& store, DestinationMetrics& metrics,
                    std::string cluster_domain = "cluster.local");

  Result<net::SocketAddress> listen(const net::SocketAddress& address) {
    return server_.listen(address);
  }
  // Closes every connection; their streams leave the store (on_close).
  void close() { server_.close(); }
  size_t connection_count() const { return server_.connection_count(); }
  // For service::ServiceLoop, which closes the server when the service stops.
  api::Server& api_server() { return server_; }

 private:
  void watch(StreamKind kind, const api::Request& request, std::shared_ptr<api::Response> response);
  void pods(const api::Request& request, api::Response& response);

  Store& store_;
  DestinationMetrics& metrics_;
  std::string cluster_domain_;
  api::Server server_;
};

}  // namespace lmesh::destination
