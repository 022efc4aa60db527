// One HTTP/1.1 connection to an upstream endpoint, lent by the UpstreamPool to one exchange at
// a time. It parses responses and reports them to the exchange (its Observer); it owns the
// connect, response and pool-idle deadlines, and turns every way a connection can fail into
// one ProxyError.
#pragma once

#include <memory>
#include <optional>

#include "common/event/deadline.h"
#include "common/event/worker.h"
#include "common/http/h1/parser.h"
#include "common/net/socket_address.h"
#include "common/net/tcp_connection.h"
#include "common/tls/session.h"
#include "proxy/config.h"
#include "proxy/proxy_metrics.h"
#include "proxy/tcp_meter.h"

namespace lmesh::proxy {

class UpstreamPool;

class UpstreamConnection final : public event::DeferredDeletable,
                                 private net::TcpConnection::Handler,
                                 private http::h1::Parser::Handler {
 public:
  class Observer {
   public:
    virtual ~Observer() = default;
    // A response head: informational (1xx) ones may come before the final one.
    virtual void on_upstream_head(http::ResponseHead& head) = 0;
    virtual void on_upstream_body(buffer::Slice data) = 0;
    // Everything one read brought has been handed over: the time to write what it produced,
    // so that a response head and its body leave in one write.
    virtual void on_upstream_read_end() = 0;
    // The final response is complete. The observer should hand the connection back.
    virtual void on_upstream_complete(const http::HeaderMap& trailers) = 0;
    // 101 Switching Protocols: the observer takes the socket (UpstreamPool::take_socket);
    // `leftover` holds bytes that followed the head.
    virtual void on_upstream_upgrade(buffer::Slice leftover) = 0;
    // The connection failed and is already detached and closing: drop every reference to it.
    virtual void on_upstream_failed(ProxyError reason, const Error& cause) = 0;
    // Request-body backpressure: the upstream write queue crossed a watermark.
    virtual void on_upstream_backed_up() = 0;
    virtual void on_upstream_drained() = 0;
  };

  // `tls`: the mesh TLS session to connect with (null: plaintext), or why there is none for
  // an endpoint that needs one (the exchange then fails with no_identity).
  UpstreamConnection(UpstreamPool& pool, event::Worker& worker, const ProxyConfig& config,
                     const TcpMetrics& metrics, const net::SocketAddress& endpoint,
                     Result<std::unique_ptr<tls::Session>> tls = nullptr);
  ~UpstreamConnection() override;

  const net::SocketAddress& endpoint() const { return endpoint_; }
  net::TcpConnection& tcp() { return *tcp_; }
  // This connection carried an earlier exchange: a failure before any response byte may be
  // the server closing an idle connection just as we reused it.
  bool reused() const { return exchanges_ > 1; }
  // The last response completed cleanly and the server keeps the connection open.
  bool reusable() const { return state_ == State::kDone && keep_alive_; }

  // Pool side.
  void connect();
  void attach(Observer& observer, bool head_request);
  void park();
  void close();
  MeteredSocket release_socket();

  // Exchange side.
  void request_complete();  // starts the response deadline
  void detach();            // the exchange is gone mid-response: the connection cannot be reused

 private:
  enum class State {
    kBusy,  // lent to an exchange (connecting or connected)
    kDone,  // the final response ended; waiting for the exchange to hand it back
    kIdle,  // parked in the pool
    kClosing,
    kClosed,
  };

  // net::TcpConnection::Handler
  void on_read(buffer::Slice data) override;
  void on_eof() override;
  void on_error(const Error& error) override;
  void on_connected() override;
  void on_high_watermark() override;
  void on_low_watermark() override;
  void on_closed() override;
  // http::h1::Parser::Handler
  void on_head() override;
  void on_body(buffer::Slice data) override;
  void on_message_complete() override;

  void fail(ProxyError reason, const Error& cause);
  void finish_response(bool clean_end);
  void set_response_deadline();
  void on_deadline();

  UpstreamPool& pool_;
  const ProxyConfig& config_;
  net::SocketAddress endpoint_;
  std::unique_ptr<net::TcpConnection> tcp_;
  TcpMeter meter_;
  http::h1::Parser parser_;
  event::Deadline deadline_;
  ProxyError deadline_reason_ = ProxyError::kConnectTimeout;
  Observer* observer_ = nullptr;
  State state_ = State::kBusy;
  std::optional<Error> connect_error_;  // a connect that failed synchronously, told on a timer
  ProxyError connect_failure_ = ProxyError::kConnectFailed;
  std::unique_ptr<tls::Session> tls_;  // until connect() hands it to the socket
  bool secured_ = false;
  bool handshake_done_ = false;
  bool request_done_ = false;
  bool response_started_ = false;
  bool final_response_done_ = false;
  bool keep_alive_ = false;
  uint64_t exchanges_ = 0;
};

}  // namespace lmesh::proxy
