// A client for the JSON control APIs (DESIGN.md "Wire API") on one worker loop: one-shot
// requests and watches. A watch reads a newline-delimited JSON stream and, when the stream
// ends or the server is unreachable, reconnects with exponential backoff and full jitter until
// its owner drops it, so a proxy keeps following the destination service through restarts.
//
// HTTP/2 by default (h2c, prior knowledge): every call and watch is a stream of one shared
// connection, made on first use and replaced when it fails. HTTP/1.1 (a connection per call)
// for servers that speak only that. Every callback runs on the loop, never from inside a
// method of this file.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/event/worker.h"
#include "common/net/socket_address.h"
#include "common/net/tcp_connection.h"
#include "common/result.h"
#include "common/tls/context.h"

namespace lmesh::api {

enum class ClientProtocol { kHttp2, kHttp1 };

struct ClientOptions {
  ClientProtocol protocol = ClientProtocol::kHttp2;
  std::chrono::milliseconds connect_timeout{3'000};
  // A one-shot request must be answered in this time; a watch must send its head in it.
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{10'000};
  size_t max_response_bytes = 4 << 20;  // whole responses; a watch's lines have the same cap
  // TLS to the server: the context (its trust anchors; ALPN h2 for kHttp2, http/1.1 for
  // kHttp1) and the name the server's certificate must carry, a DNS name or an IP address.
  // Unset: plaintext.
  std::shared_ptr<const tls::Context> tls;
  std::string tls_server_name;
};

// Extra request header fields (name, value), e.g. {"authorization", "Bearer ..."}. Names are
// lowercase (HTTP/2 requires it); values must not contain CR or LF, which the caller checks.
using RequestHeaders = std::vector<std::pair<std::string, std::string>>;

struct ClientResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// A request in flight: dropping it cancels the request (its callback then never runs).
class Call {
 public:
  virtual ~Call() = default;
};
// A stream being followed: dropping it stops following.
class Watch {
 public:
  virtual ~Watch() = default;
};

struct WatchCallbacks {
  // Optional, asked on every (re)connect: the target to request then, in place of the one given
  // to watch() (a Kubernetes watch resumes from the latest resourceVersion it has seen).
  std::function<std::string()> target;
  // Optional, asked on every (re)connect: extra request header fields (a bearer token re-read
  // from a file that the kubelet rotates).
  std::function<RequestHeaders()> headers;
  // The stream (re)started with this status. Return false to stop the watch (e.g. on 404).
  std::function<bool(int status)> on_open = [](int) { return true; };
  // One line of the stream, without its newline.
  std::function<void(std::string_view line)> on_line;
  // The stream broke or could not be opened; a reconnect follows after `retry_in`.
  std::function<void(const Error& why, std::chrono::milliseconds retry_in)> on_error =
      [](const Error&, std::chrono::milliseconds) {};
};

class ClientExchange;
class H2Transport;
struct ExchangeEvents;
struct ExchangeRequest;

class Client {
 public:
  Client(event::Worker& worker, net::SocketAddress server, ClientOptions options = {});
  // Closes the shared connection; calls and watches must be dropped before.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  std::unique_ptr<Call> request(std::string method, std::string target, std::string body,
                                std::function<void(Result<ClientResponse>)> done,
                                RequestHeaders headers = {});
  std::unique_ptr<Watch> watch(std::string target, WatchCallbacks callbacks);

  event::Worker& worker() const { return worker_; }
  const net::SocketAddress& server() const { return server_; }
  const ClientOptions& options() const { return options_; }
  // For the transports: puts a TLS session on `tcp` before it connects, when options().tls
  // asks for one.
  Result<void> secure(net::TcpConnection& tcp) const;
  // Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): a random delay in
  // [0, min(max, base * 2^attempt)], so clients restarted together do not retry together.
  std::chrono::milliseconds backoff(unsigned attempt);

 private:
  friend class CallImpl;
  friend class WatchImpl;
  // Starts one exchange on the configured transport.
  ClientExchange* start(const ExchangeRequest& request, ExchangeEvents events);

  event::Worker& worker_;
  net::SocketAddress server_;
  ClientOptions options_;
  std::minstd_rand rng_;
  H2Transport* h2_ = nullptr;  // the shared connection, while it takes requests
};

}  // namespace lmesh::api
