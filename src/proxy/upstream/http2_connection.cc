#include "proxy/upstream/http2_connection.h"

#include <spdlog/spdlog.h>

#include "proxy/identity/upstream_tls.h"
#include "proxy/upstream/http2_pool.h"

namespace lmesh::proxy {
namespace h2 = http::h2;

namespace {

// Response heads come from servers we route to; the cap only stops a broken one from growing
// memory without bound (as for HTTP/1 upstreams).
constexpr uint32_t kMaxResponseHeadBytes = 256 * 1024;

net::WatermarkLimits limits(const ProxyConfig& config) {
  return {config.connection_buffer_bytes, config.connection_buffer_bytes / 4};
}

h2::SessionConfig session_config(uint32_t assumed_peer_streams) {
  h2::SessionConfig c;
  c.max_header_list_size = kMaxResponseHeadBytes;
  c.assumed_peer_max_concurrent_streams = assumed_peer_streams;
  return c;
}

}  // namespace

Http2ClientConnection::Http2ClientConnection(Http2ClientPool& pool, event::Worker& worker,
                                             const ProxyConfig& config, const TcpMetrics& metrics,
                                             const net::SocketAddress& endpoint,
                                             uint32_t assumed_peer_streams,
                                             Result<std::unique_ptr<tls::Session>> tls)
    : pool_(pool),
      worker_(worker),
      config_(config),
      endpoint_(endpoint),
      tcp_(std::make_unique<net::TcpConnection>(
          worker, static_cast<net::TcpConnection::Handler&>(*this), limits(config))),
      meter_(metrics, *tcp_),
      deadline_(worker.loop(), [this] { on_deadline(); }),
      keepalive_(
          worker.loop(), config.h2_keepalive_interval, config.h2_keepalive_timeout,
          [this] { schedule_flush(); },
          [this] {
            fail(ProxyError::kUpstreamReset,
                 Error(ErrorCode::kTimeout,
                       "upstream " + endpoint_.to_string() + " did not answer a keepalive PING"));
          }),
      assumed_peer_streams_(assumed_peer_streams) {
  if (tls) {
    tls_ = std::move(*tls);
    secured_ = tls_ != nullptr;
  } else {
    connect_error_ = tls.error();
    connect_failure_ = ProxyError::kNoIdentity;
  }
}

Http2ClientConnection::~Http2ClientConnection() = default;

void Http2ClientConnection::connect() {
  auto session = h2::ClientSession::create(*this, worker_.chunks(), worker_.blocks(),
                                           session_config(assumed_peer_streams_));
  if (!session) {
    connect_error_ = session.error();
    deadline_.set(std::chrono::milliseconds(1));
    return;
  }
  session_ = std::move(*session);
  if (connect_error_) {
    // No certificate for a peer that needs mTLS: the streams opened meanwhile fail with it
    // on the next loop turn.
    deadline_.set(std::chrono::milliseconds(1));
    return;
  }
  if (tls_ != nullptr) {
    // on_connected() now waits for the handshake; the connect deadline covers both.
    (void)tcp_->set_transport_layer(std::move(tls_));
  }
  schedule_flush();  // the preface and SETTINGS, queued behind the connect
  auto started = tcp_->connect(endpoint_, config_.upstream_source(pool_.direction()));
  if (!started) {
    // Reported on the next loop turn: the first exchange is still inside open_stream().
    connect_error_ = started.error();
    deadline_.set(std::chrono::milliseconds(1));
    return;
  }
  tcp_->read_start();
  deadline_.set(config_.connect_timeout);
}

bool Http2ClientConnection::accepting() const {
  return !draining_ && !closing_ && session_ != nullptr && session_->can_submit_request();
}

bool Http2ClientConnection::has_stream_capacity() const {
  if (session_ == nullptr) return false;
  // Until the peer's SETTINGS are known, nghttp2 reports no limit: assume the remembered one.
  uint32_t limit = session_->peer_max_concurrent_streams();
  if (!limit_reported_) limit = std::min(limit, assumed_peer_streams_);
  return session_->stream_count() < limit;
}

Result<h2::Stream*> Http2ClientConnection::open_stream(const http::RequestHead& head,
                                                       bool end_stream, StreamObserver& observer) {
  if (!accepting()) {
    return lmesh::fail(ErrorCode::kClosed,
                       "connection to " + endpoint_.to_string() + " is closing");
  }
  auto stream = session_->submit_request(head, end_stream);
  if (!stream) return lmesh::fail(stream.error());
  (*stream)->set_context(&observer);
  update_idle();
  schedule_flush();
  return *stream;
}

void Http2ClientConnection::send_data(h2::Stream& stream, buffer::Slice data, bool end_stream) {
  if (session_->send_data(stream, std::move(data), end_stream)) schedule_flush();
}

void Http2ClientConnection::send_trailers(h2::Stream& stream, const http::HeaderMap& trailers) {
  if (session_->send_trailers(stream, trailers)) schedule_flush();
}

void Http2ClientConnection::consume(h2::StreamId id, size_t n) {
  if (session_ == nullptr || closing_) return;
  session_->consume(id, n);
  schedule_flush();  // a WINDOW_UPDATE
}

void Http2ClientConnection::cancel(h2::Stream& stream) {
  stream.set_context(nullptr);
  if (closing_) return;
  session_->consume(stream, stream.unconsumed_bytes());
  session_->reset(stream, h2::Http2ErrorCode::kCancel);
  schedule_flush();
}

void Http2ClientConnection::drain() {
  if (draining_ || closing_) return;
  draining_ = true;
  pool_.retire(*this);
  // No GOAWAY while streams are open: nothing new starts here anyway, and some servers stop
  // answering open streams once they hear one (python-h2 does). It goes with the last stream.
  update_idle();
}

void Http2ClientConnection::close() {
  finish(net::CloseMode::kNoFlush);
}

void Http2ClientConnection::finish(net::CloseMode mode) {
  if (closing_) return;
  closing_ = true;
  deadline_.clear();
  keepalive_.stop();
  pool_.retire(*this);
  if (session_ != nullptr) session_->abandon();  // open streams fail with failure_
  tcp_->close(mode);
}

void Http2ClientConnection::fail(ProxyError reason, const Error& cause) {
  if (closing_) return;
  failure_ = reason;
  failure_cause_ = cause;
  close();
}

// ---- the socket ----

void Http2ClientConnection::on_connected() {
  if (secured_) {
    handshake_done_ = true;
    count_handshake_done(pool_.metrics(), pool_.direction(), *tcp_);
  }
  keepalive_.start(*session_);
  update_idle();
  schedule_flush();
}

void Http2ClientConnection::on_read(buffer::Slice data) {
  if (closing_) return;
  if (!session_->feed(data)) tcp_->read_stop();  // the GOAWAY goes out at the batch end
  schedule_flush();
}

void Http2ClientConnection::on_eof() {
  fail(ProxyError::kUpstreamReset,
       Error(ErrorCode::kClosed, "upstream " + endpoint_.to_string() + " closed the connection"));
}

void Http2ClientConnection::on_error(const Error& error) {
  ProxyError reason = ProxyError::kUpstreamReset;
  if (!tcp_->connected()) {
    reason = error.code() == ErrorCode::kRefused ? ProxyError::kConnectRefused
                                                 : ProxyError::kConnectFailed;
  } else if (secured_ && !handshake_done_) {
    reason = count_handshake_failed(pool_.metrics(), pool_.direction(), error);
  }
  fail(reason, error);
}

void Http2ClientConnection::on_closed() {
  pool_.closed(*this);
}

void Http2ClientConnection::schedule_flush() {
  if (!closing_) worker_.at_batch_end(*this);
}

void Http2ClientConnection::on_batch_end() {
  if (closing_ || session_ == nullptr) return;
  if (tcp_->above_high_watermark()) return;  // on_low_watermark() brings us back
  // Its slice list on the block pool: a batch holds hundreds of frames, every turn.
  buffer::Buffer out(worker_.chunks(), &worker_.blocks());
  session_->produce(out);
  if (!out.empty()) tcp_->write(out);
  // After a connection error, the GOAWAY with it is written; the streams end with the
  // connection. Otherwise both sides are done (GOAWAY after the last stream).
  if (session_->failed() || (!session_->want_read() && !session_->want_write())) {
    finish(net::CloseMode::kFlush);
  }
}

void Http2ClientConnection::update_idle() {
  if (closing_ || !tcp_->connected()) return;
  if (session_->stream_count() == 0) {
    if (draining_) {
      session_->terminate(h2::Http2ErrorCode::kNoError);
      schedule_flush();
      return;
    }
    deadline_.set(config_.pool_idle_timeout);
  } else {
    deadline_.clear();
  }
}

void Http2ClientConnection::on_deadline() {
  if (connect_error_) {
    fail(connect_failure_, *connect_error_);
  } else if (!tcp_->connected()) {
    fail(ProxyError::kConnectTimeout,
         Error(ErrorCode::kTimeout, "upstream connect timeout (" + endpoint_.to_string() + ")"));
  } else if (session_->stream_count() == 0) {
    drain();  // idle for --pool-idle-timeout: GOAWAY, then close
  }
}

// ---- the session ----

void Http2ClientConnection::on_response_head(h2::Stream& stream, bool end_stream) {
  if (!limit_reported_) {
    // A response means the peer's SETTINGS came first (RFC 9113 §3.4): its limit is known.
    limit_reported_ = true;
    pool_.learned_stream_limit(endpoint_, session_->peer_max_concurrent_streams());
    // TLS 1.3 tickets arrive after the handshake, so by the first response there is one.
    if (secured_) pool_.learned_ticket(endpoint_, mesh_session(*tcp_)->resumption_ticket());
  }
  if (StreamObserver* o = observer(stream)) o->on_upstream_head(stream.response(), end_stream);
}

void Http2ClientConnection::on_data(h2::Stream& stream, buffer::Slice data) {
  if (StreamObserver* o = observer(stream)) {
    o->on_upstream_data(std::move(data));
  } else {
    session_->consume(stream, data.size());
  }
}

void Http2ClientConnection::on_trailers(h2::Stream& stream) {
  if (StreamObserver* o = observer(stream)) o->on_upstream_trailers(stream.trailers());
}

void Http2ClientConnection::on_stream_end(h2::Stream& stream) {
  StreamObserver* o = observer(stream);
  stream.set_context(nullptr);
  if (o != nullptr) o->on_upstream_end();
}

void Http2ClientConnection::on_stream_reset(h2::Stream& stream, h2::Http2ErrorCode code,
                                            h2::ResetOrigin origin) {
  StreamObserver* o = observer(stream);
  stream.set_context(nullptr);
  if (o == nullptr) return;
  switch (origin) {
    case h2::ResetOrigin::kPeer:
      o->on_upstream_failed(ProxyError::kUpstreamReset,
                            Error(ErrorCode::kClosed, "upstream reset the stream (" +
                                                          std::string(to_string(code)) + ")"),
                            /*refused=*/code == h2::Http2ErrorCode::kRefusedStream);
      break;
    case h2::ResetOrigin::kSession:
      o->on_upstream_failed(ProxyError::kUpstreamMalformed,
                            Error(ErrorCode::kProtocol, "malformed upstream response"), false);
      break;
    case h2::ResetOrigin::kRefused:
      o->on_upstream_failed(ProxyError::kUpstreamReset,
                            Error(ErrorCode::kClosed, "upstream " + endpoint_.to_string() +
                                                          " is going away; stream not processed"),
                            /*refused=*/true);
      break;
    case h2::ResetOrigin::kConnection:
      o->on_upstream_failed(
          failure_,
          failure_cause_.value_or(Error(
              ErrorCode::kClosed, "upstream connection to " + endpoint_.to_string() + " ended")),
          false);
      break;
  }
}

void Http2ClientConnection::on_stream_closed(h2::Stream& stream) {
  // Bytes delivered to an exchange that is gone still hold the connection window.
  session_->consume(stream.id(), stream.unconsumed_bytes());
  if (StreamObserver* o = observer(stream)) {
    stream.set_context(nullptr);
    o->on_upstream_failed(ProxyError::kUpstreamReset,
                          Error(ErrorCode::kClosed, "upstream stream closed unfinished"), false);
  }
  update_idle();
}

void Http2ClientConnection::on_goaway(h2::StreamId, h2::Http2ErrorCode code, std::string_view) {
  spdlog::debug("upstream {} sent GOAWAY ({}); new streams go to a new connection",
                endpoint_.to_string(), to_string(code));
  pool_.retire(*this);
  update_idle();
}

void Http2ClientConnection::on_connection_error(const h2::ConnectionError& error) {
  spdlog::debug("HTTP/2 connection to upstream {} failed: {}", endpoint_.to_string(), error.reason);
  failure_ = ProxyError::kUpstreamMalformed;
  failure_cause_ = error.to_error();
  pool_.retire(*this);
  schedule_flush();  // the GOAWAY, then close()
}

void Http2ClientConnection::on_data_sent(h2::Stream& stream) {
  if (StreamObserver* o = observer(stream)) o->on_upstream_request_sent();
}

}  // namespace lmesh::proxy
