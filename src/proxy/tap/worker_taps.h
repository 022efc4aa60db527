// A worker's view of the open taps, and the tap of one request.
//
// With no tap open a request costs one branch (`active()`); the subscriber list reaches the
// worker as an immutable snapshot posted by the control thread, like discovery's. While taps
// are open, a request that one of them may want gets a TapRequest that copies what its events
// need and writes them (request_init, response_init, response_end) to the subscribers it
// matched.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/headers.h"
#include "common/net/socket_address.h"
#include "proxy/direction.h"
#include "proxy/proxy_metrics.h"
#include "proxy/tap/tap_subscription.h"

namespace lmesh::proxy {

class EndpointIdentities;

// What a request's codec knows when the head has arrived.
struct TapRequestStart {
  Direction direction;
  const net::SocketAddress& source;
  // Where the request goes when no endpoint is picked (the connection's destination).
  std::optional<net::SocketAddress> destination;
  TlsLabel tls;                // inbound: the connection's; outbound: set when routed
  std::string_view client_id;  // inbound over mesh TLS
  std::string_view method;
  std::string_view scheme;
  std::string_view authority;
  std::string_view path;
  const http::HeaderMap& headers;
};

class TapRequest {
 public:
  TapRequest(uint64_t id, size_t worker, std::vector<std::shared_ptr<TapSubscription>> candidates,
             const TapRequestStart& start);
  // A request that never ended (its connection went away) ends as reset.
  ~TapRequest();
  TapRequest(const TapRequest&) = delete;
  TapRequest& operator=(const TapRequest&) = delete;

  // The balancer picked `endpoint` (the first pick counts; retries keep the request's id).
  void routed(const net::SocketAddress& endpoint, const EndpointIdentities& identities);
  // The response head (not 1xx), from the upstream or the proxy itself.
  void response_head(uint16_t status, const http::HeaderMap& headers);
  // The proxy answers or ends the request itself, for this reason (lmesh-proxy-error).
  void proxy_error(std::string_view reason) { error_ = reason; }
  void add_response_bytes(uint64_t n) { response_bytes_ += n; }
  // The response ended: completely, or as reset when `reset` is set.
  void end(uint16_t status, std::optional<uint32_t> grpc_status, std::string_view reset = {});

 private:
  void emit_init();
  void emit(std::string line);

  std::string id_;
  size_t worker_;
  std::vector<std::shared_ptr<TapSubscription>> candidates_;
  std::vector<std::shared_ptr<TapSubscription>> subscribers_;
  Direction direction_;
  net::SocketAddress source_;
  std::optional<net::SocketAddress> destination_;
  TlsLabel tls_;
  std::string client_id_;
  std::string server_id_;
  std::string method_;
  std::string scheme_;
  std::string authority_;
  std::string path_;
  std::vector<std::pair<std::string, std::string>> request_headers_;
  std::string error_;
  uint64_t start_ns_;
  uint64_t response_ns_ = 0;
  uint64_t response_bytes_ = 0;
  bool init_done_ = false;
  bool head_done_ = false;
  bool ended_ = false;
};

class WorkerTaps {
 public:
  using Subscribers = std::vector<std::shared_ptr<TapSubscription>>;

  explicit WorkerTaps(size_t worker_index) : worker_index_(worker_index) {}

  // The one test every request makes.
  bool active() const { return subscribers_ != nullptr; }
  // From the control thread, through post(): the taps open now.
  void set(std::shared_ptr<const Subscribers> subscribers) {
    subscribers_ =
        subscribers != nullptr && !subscribers->empty() ? std::move(subscribers) : nullptr;
  }
  // Only when active(): the request's tap, or null when no open tap can want it.
  std::unique_ptr<TapRequest> begin(const TapRequestStart& start);

 private:
  size_t worker_index_;
  uint64_t next_id_ = 0;
  std::shared_ptr<const Subscribers> subscribers_;
};

}  // namespace lmesh::proxy
