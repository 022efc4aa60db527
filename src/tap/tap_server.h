// lmesh-tap's HTTP API (HTTP/2 and HTTP/1.1 on one port, DESIGN.md "Wire API"):
//   GET /v1/tap?target=...     newline-delimited JSON events of the target's proxies, merged
//   GET /v1/stat?target=...    success rate, request rate, latency quantiles per resource
//   GET /metrics, GET /ready (200 once a first scrape round has completed and, with identity
//   on, a certificate is held), GET /live
#pragma once

#include <memory>
#include <unordered_map>

#include "common/api/server.h"
#include "common/event/worker.h"
#include "common/net/socket_address.h"
#include "common/result.h"
#include "tap/pod_directory.h"
#include "tap/stat_collector.h"
#include "tap/tap_identity.h"
#include "tap/tap_metrics.h"
#include "tap/tap_session.h"

namespace lmesh::tap {

class TapServer {
 public:
  // Everything given must outlive the server.
  TapServer(event::Worker& worker, PodDirectory& directory, StatCollector& stats,
            const TapIdentity& identity, TapMetrics& metrics);
  ~TapServer();

  Result<net::SocketAddress> listen(const net::SocketAddress& address) {
    return server_.listen(address);
  }
  // Closing it closes every connection: every tap finishes and closes its proxy streams.
  api::Server& api_server() { return server_; }

 private:
  void tap(const api::Request& request, std::shared_ptr<api::Response> response);
  void session_finished(TapSession* session);

  event::Worker& worker_;
  PodDirectory& directory_;
  StatCollector& stats_;
  const TapIdentity& identity_;
  TapMetrics& metrics_;
  std::unordered_map<TapSession*, std::unique_ptr<TapSession>> sessions_;
  // Last: its connections close before the sessions they feed are destroyed.
  api::Server server_;
};

}  // namespace lmesh::tap
