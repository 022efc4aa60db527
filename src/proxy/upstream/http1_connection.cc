#include "proxy/upstream/http1_connection.h"

#include "proxy/identity/upstream_tls.h"

#include <spdlog/spdlog.h>

#include "proxy/upstream/http1_pool.h"

namespace lmesh::proxy {
namespace {

// Response heads come from servers we route to, not from clients; the cap only stops a
// broken server from growing memory without bound.
constexpr size_t kMaxResponseHeadBytes = 256 * 1024;

net::WatermarkLimits limits(const ProxyConfig& config) {
  return {config.connection_buffer_bytes, config.connection_buffer_bytes / 4};
}

}  // namespace

UpstreamConnection::UpstreamConnection(UpstreamPool& pool, event::Worker& worker,
                                       const ProxyConfig& config, const TcpMetrics& metrics,
                                       const net::SocketAddress& endpoint,
                                       Result<std::unique_ptr<tls::Session>> tls)
    : pool_(pool),
      config_(config),
      endpoint_(endpoint),
      tcp_(std::make_unique<net::TcpConnection>(
          worker, static_cast<net::TcpConnection::Handler&>(*this), limits(config))),
      meter_(metrics, *tcp_),
      parser_(http::h1::Parser::Kind::kResponse, *this, kMaxResponseHeadBytes),
      deadline_(worker.loop(), [this] { on_deadline(); }) {
  if (tls) {
    tls_ = std::move(*tls);
    secured_ = tls_ != nullptr;
  } else {
    connect_error_ = tls.error();
    connect_failure_ = ProxyError::kNoIdentity;
  }
}

UpstreamConnection::~UpstreamConnection() = default;

void UpstreamConnection::connect() {
  if (connect_error_) {  // no certificate for a peer that needs mTLS
    deadline_reason_ = connect_failure_;
    deadline_.set(std::chrono::milliseconds(1));
    return;
  }
  // With TLS, on_connected() waits for the handshake; the connect deadline covers both.
  if (tls_ != nullptr) (void)tcp_->set_transport_layer(std::move(tls_));
  auto started = tcp_->connect(endpoint_, config_.upstream_source(pool_.direction()));
  if (!started) {
    // Report on the next loop turn: the exchange is still inside acquire().
    connect_error_ = started.error();
    deadline_reason_ = ProxyError::kConnectFailed;
    deadline_.set(std::chrono::milliseconds(1));
    return;
  }
  tcp_->read_start();
  deadline_reason_ = ProxyError::kConnectTimeout;
  deadline_.set(config_.connect_timeout);
}

void UpstreamConnection::attach(Observer& observer, bool head_request) {
  observer_ = &observer;
  state_ = State::kBusy;
  ++exchanges_;
  request_done_ = false;
  response_started_ = false;
  final_response_done_ = false;
  keep_alive_ = false;
  parser_.set_next_response_bodyless(head_request);
  if (tcp_->connected()) deadline_.clear();  // the pool-idle deadline
}

void UpstreamConnection::request_complete() {
  request_done_ = true;
  if (tcp_->connected() && !response_started_) set_response_deadline();
}

void UpstreamConnection::set_response_deadline() {
  deadline_reason_ = ProxyError::kUpstreamTimeout;
  deadline_.set(config_.upstream_timeout);
}

void UpstreamConnection::detach() {
  observer_ = nullptr;
  close();
}

void UpstreamConnection::park() {
  state_ = State::kIdle;
  observer_ = nullptr;
  tcp_->read_start();  // notice the server closing an idle connection
  deadline_.set(config_.pool_idle_timeout);
}

void UpstreamConnection::close() {
  if (state_ == State::kClosing || state_ == State::kClosed) return;
  state_ = State::kClosing;
  observer_ = nullptr;
  deadline_.clear();
  pool_.forget_idle(*this);
  tcp_->close(net::CloseMode::kNoFlush);
}

MeteredSocket UpstreamConnection::release_socket() {
  state_ = State::kClosed;
  observer_ = nullptr;
  deadline_.clear();
  return MeteredSocket{std::move(tcp_), std::move(meter_)};
}

void UpstreamConnection::on_connected() {
  if (secured_) {
    handshake_done_ = true;
    count_handshake_done(pool_.metrics(), pool_.direction(), *tcp_);
  }
  deadline_.clear();
  if (request_done_ && !response_started_) set_response_deadline();
}

void UpstreamConnection::on_read(buffer::Slice data) {
  if (state_ == State::kIdle) {
    // A server may not speak before it is asked (RFC 9112 §9.3): the connection is broken.
    spdlog::debug("upstream {} sent {} bytes on an idle connection; closing", endpoint_.to_string(),
                  data.size());
    close();
    return;
  }
  if (state_ != State::kBusy) return;
  while (!data.empty()) {
    auto [consumed, outcome] = parser_.feed(data);
    data.remove_prefix(consumed);
    using Outcome = http::h1::Parser::Outcome;
    if (outcome == Outcome::kNeedMore) break;
    if (outcome == Outcome::kError) {
      fail(ProxyError::kUpstreamMalformed,
           Error(ErrorCode::kProtocol, "malformed response: " + parser_.error_reason()));
      return;
    }
    if (outcome == Outcome::kUpgrade) {
      Observer* o = observer_;
      observer_ = nullptr;
      deadline_.clear();
      if (o != nullptr) o->on_upstream_upgrade(std::move(data));
      return;
    }
    // kMessageComplete: an informational response ended, or the final one did.
    parser_.resume();
    if (final_response_done_) {
      // Bytes after the final response are a protocol error: never hand such a connection
      // to the next exchange.
      finish_response(data.empty());
      return;
    }
  }
  if (observer_ != nullptr) observer_->on_upstream_read_end();
}

void UpstreamConnection::finish_response(bool clean_end) {
  if (!clean_end) keep_alive_ = false;
  state_ = State::kDone;
  deadline_.clear();
  Observer* o = observer_;
  observer_ = nullptr;
  if (o != nullptr) o->on_upstream_complete(parser_.trailers());
}

void UpstreamConnection::on_eof() {
  if (state_ != State::kBusy) {
    close();
    return;
  }
  // A body delimited by the close ends here; anything else was cut short.
  if (parser_.finish() == http::h1::Parser::Outcome::kMessageComplete && final_response_done_) {
    keep_alive_ = false;
    finish_response(true);
    return;
  }
  fail(ProxyError::kUpstreamReset,
       Error(ErrorCode::kClosed, "upstream " + endpoint_.to_string() + " closed the connection"));
}

void UpstreamConnection::on_error(const Error& error) {
  if (state_ != State::kBusy) {
    close();
    return;
  }
  ProxyError reason = ProxyError::kUpstreamReset;
  if (!tcp_->connected()) {
    reason = error.code() == ErrorCode::kRefused ? ProxyError::kConnectRefused
                                                 : ProxyError::kConnectFailed;
  } else if (secured_ && !handshake_done_) {
    reason = count_handshake_failed(pool_.metrics(), pool_.direction(), error);
  }
  fail(reason, error);
}

void UpstreamConnection::fail(ProxyError reason, const Error& cause) {
  Observer* o = observer_;
  close();
  if (o != nullptr) o->on_upstream_failed(reason, cause);
}

void UpstreamConnection::on_deadline() {
  if (state_ == State::kIdle) {
    close();
    return;
  }
  if (state_ != State::kBusy) return;
  if (connect_error_) {
    fail(connect_failure_, *connect_error_);
    return;
  }
  fail(deadline_reason_, Error(ErrorCode::kTimeout, std::string(info(deadline_reason_).header) +
                                                        " (" + endpoint_.to_string() + ")"));
}

void UpstreamConnection::on_high_watermark() {
  if (observer_ != nullptr) observer_->on_upstream_backed_up();
}

void UpstreamConnection::on_low_watermark() {
  if (observer_ != nullptr) observer_->on_upstream_drained();
}

void UpstreamConnection::on_closed() {
  state_ = State::kClosed;
  pool_.closed(*this);
}

void UpstreamConnection::on_head() {
  response_started_ = true;
  http::ResponseHead& head = parser_.response();
  if (!head.informational()) {
    deadline_.clear();
    keep_alive_ = head.keep_alive;
  }
  if (observer_ != nullptr) observer_->on_upstream_head(head);
}

void UpstreamConnection::on_body(buffer::Slice data) {
  if (observer_ != nullptr) observer_->on_upstream_body(std::move(data));
}

void UpstreamConnection::on_message_complete() {
  if (!parser_.response().informational()) final_response_done_ = true;
}

}  // namespace lmesh::proxy
