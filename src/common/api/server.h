// A small JSON control-API server on one worker loop: exact-path routes, request bodies up to a
// limit, whole or streamed responses, errors as {"error","detail"} with the right status.
// The destination, identity and tap services and the proxy's admin port are built on it.
// Each connection speaks HTTP/2 when it opens with the HTTP/2 preface (prior knowledge, as
// proxies and controllers do) and HTTP/1.1 otherwise (so curl works); both reach the same
// routes.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/api/request.h"
#include "common/api/response.h"
#include "common/event/worker.h"
#include "common/net/listener.h"
#include "common/net/socket_address.h"
#include "common/net/tcp_connection.h"
#include "common/result.h"
#include "common/tls/context.h"

namespace lmesh::api {

using Handler = std::function<void(const Request&, std::shared_ptr<Response>)>;

struct ServerOptions {
  size_t max_body_bytes = 1 << 20;   // larger bodies get 413
  size_t max_head_bytes = 16 << 10;  // larger heads get 431
  // HTTP/2 streams one client may hold open at once. Watch-style services raise it: a proxy
  // follows every authority it talks to with two long-lived streams on one connection.
  uint32_t max_concurrent_streams = 100;
  // A streamed response whose unsent bytes pass this is ended (HTTP/2: RST_STREAM
  // ENHANCE_YOUR_CALM; HTTP/1.1: the connection closes), and its handler sees on_close: a
  // client that stopped reading cannot make the server buffer without bound. Watch clients
  // reconnect and start over from the whole state.
  size_t max_stream_backlog = 4 << 20;
  std::chrono::milliseconds idle_timeout{60'000};  // idle keep-alive connections close
  // TLS: a connection that opens with a TLS record is terminated with this context (ALPN h2 or
  // http/1.1) and then detected like any other; plaintext is still served beside it, so curl
  // and h2c clients keep working. Null: plaintext only. A server context that requires (or
  // verifies) client certificates tells handlers who the client proved to be
  // (Request::peer_identity).
  std::shared_ptr<const tls::Context> tls;
  // For a certificate that rotates: asked at each connection that opens with a TLS record, and
  // wins over `tls` when set. Connections keep the context they started with. A null result
  // serves that connection as plaintext (no certificate yet): its ClientHello gets a 400.
  std::function<std::shared_ptr<const tls::Context>()> tls_provider;
  // Runs with the request target when a body is refused with 413 (no handler sees such a
  // request), so that a service can count the refusal in its own metrics.
  std::function<void(std::string_view target)> on_body_too_large;
};

class Server {
 public:
  Server(event::Worker& worker, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers `handler` for `method` on exactly `path`. Unknown paths get 404, known paths
  // with another method 405.
  void route(std::string method, std::string path, Handler handler);

  Result<net::SocketAddress> listen(const net::SocketAddress& address);
  // Stops accepting and closes every connection (open streams see on_close). The connections
  // finish closing on later loop turns and tell the server then: destroy it only once
  // connection_count() is 0 (or after its loop has ended).
  void close();

  size_t connection_count() const { return connections_.size(); }

  // For connections: finds the handler and calls it, or answers the error.
  void dispatch(const Request& request, std::shared_ptr<Response> response) const;
  event::Worker& worker() const { return worker_; }
  const ServerOptions& options() const { return options_; }
  void forget(uint64_t connection_id);

  // Every kind of client connection, as the server tracks it.
  class Connection : public event::DeferredDeletable {
   public:
    virtual void close(net::CloseMode mode) = 0;
  };
  // A connection's protocol is known: `next` takes over from the connection that detected it.
  void replace(uint64_t connection_id, Connection* next);

 private:
  class Detector;
  void on_accept(uv_stream_t* listener);

  event::Worker& worker_;
  ServerOptions options_;
  // path -> method -> handler
  std::unordered_map<std::string, std::unordered_map<std::string, Handler>> routes_;
  std::unique_ptr<net::Listener> listener_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Connection*> connections_;
};

}  // namespace lmesh::api
