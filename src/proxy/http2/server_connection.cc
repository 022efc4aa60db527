#include "proxy/http2/server_connection.h"

#include <spdlog/spdlog.h>

#include "proxy/http2/exchange.h"
#include "proxy/proxy_worker.h"

namespace lmesh::proxy {
namespace h2 = http::h2;

namespace {
// How long a draining connection waits for the answer to its shutdown PING before it sends
// the final GOAWAY anyway.
constexpr std::chrono::milliseconds kDrainPingTimeout{1000};
}  // namespace

Http2ServerConnection::Http2ServerConnection(ProxyWorker& worker, Direction direction,
                                             MeteredSocket downstream,
                                             const ConnectionTarget& target)
    : ProxyConnection(worker),
      direction_(direction),
      downstream_(std::move(downstream)),
      target_(target),
      idle_(worker.worker().loop(), [this] { on_idle_deadline(); }),
      keepalive_(
          worker.worker().loop(), worker.config().h2_keepalive_interval,
          worker.config().h2_keepalive_timeout, [this] { schedule_flush(); },
          [this] {
            spdlog::debug("{} HTTP/2 client {} did not answer a keepalive PING; closing",
                          to_string(direction_), peer().to_string());
            close(net::CloseMode::kAbort);
          }),
      response_deadlines_(worker.worker().loop(), worker.config().upstream_timeout) {
  downstream_.tcp->set_handler(*this);
}

Http2ServerConnection::~Http2ServerConnection() = default;

void Http2ServerConnection::start(buffer::Buffer initial) {
  h2::SessionConfig config;
  config.max_header_list_size = static_cast<uint32_t>(worker_.config().max_header_bytes);
  auto session = h2::ServerSession::create(*this, worker_.worker().chunks(),
                                           worker_.worker().blocks(), config);
  if (!session) {
    spdlog::warn("{} cannot start an HTTP/2 session: {}", to_string(direction_),
                 session.error().describe());
    close(net::CloseMode::kAbort);
    return;
  }
  session_ = std::move(*session);
  keepalive_.start(*session_);
  update_idle();
  for (size_t i = 0; i < initial.slice_count() && !closing_; ++i) {
    if (!session_->feed(initial.slice(i))) break;
  }
  schedule_flush();
  if (!closing_ && session_->want_read()) downstream_.tcp->read_start();
}

const RouteMetrics& Http2ServerConnection::route(std::string_view authority) {
  if (!route_ || route_->authority != authority) {
    route_ = worker_.metrics().route(direction_, authority, target_.tls, target_.client_identity);
  }
  return *route_;
}

metrics::Counter& Http2ServerConnection::response_counter(const RouteMetrics& route,
                                                          uint16_t status,
                                                          std::optional<uint32_t> grpc_status,
                                                          bool failure) {
  if (response_counter_ == nullptr || status != response_status_ || failure != response_failure_ ||
      grpc_status != response_grpc_status_ || route.authority != response_authority_) {
    response_counter_ = &worker_.metrics().response(route, status, grpc_status, failure);
    response_authority_ = route.authority;
    response_status_ = status;
    response_grpc_status_ = grpc_status;
    response_failure_ = failure;
  }
  return *response_counter_;
}

// ---- the socket ----

void Http2ServerConnection::on_read(buffer::Slice data) {
  if (closing_) return;
  if (!session_->feed(data)) downstream_.tcp->read_stop();  // the GOAWAY goes out at batch end
  schedule_flush();
}

void Http2ServerConnection::schedule_flush() {
  if (!closing_) worker_.worker().at_batch_end(*this);
}

void Http2ServerConnection::on_batch_end() {
  if (closing_ || session_ == nullptr) return;
  if (downstream_.tcp->above_high_watermark()) return;  // on_low_watermark() brings us back
  // Its slice list on the block pool: a batch holds hundreds of frames, every turn.
  buffer::Buffer out(worker_.worker().chunks(), &worker_.worker().blocks());
  session_->produce(out);
  if (!out.empty()) downstream_.tcp->write(out);
  if (session_->failed() || (!session_->want_read() && !session_->want_write())) {
    close(net::CloseMode::kFlush);
  }
}

void Http2ServerConnection::on_eof() {
  close(net::CloseMode::kFlush);
}

void Http2ServerConnection::on_error(const Error& error) {
  spdlog::debug("{} HTTP/2 client connection failed: {}", to_string(direction_), error.describe());
  close(net::CloseMode::kNoFlush);
}

void Http2ServerConnection::close(net::CloseMode mode) {
  if (closing_) return;
  closing_ = true;
  idle_.clear();
  keepalive_.stop();
  // Every stream still open is reset and closed: its exchange cancels its upstream stream.
  if (session_ != nullptr) session_->abandon();
  downstream_.tcp->close(mode);
}

void Http2ServerConnection::on_closed() {
  release();
}

void Http2ServerConnection::drain() {
  if (closing_ || draining_) return;
  if (session_ == nullptr) {
    close(net::CloseMode::kNoFlush);
    return;
  }
  // GOAWAY with a PING, then the final GOAWAY one round trip later: requests already on the
  // wire are still served; the connection closes once the last stream is done. A client that
  // does not answer the PING gets the final GOAWAY when the deadline runs out.
  draining_ = true;
  session_->graceful_shutdown();
  idle_.set(kDrainPingTimeout);
  schedule_flush();
}

void Http2ServerConnection::on_idle_deadline() {
  if (closing_ || session_ == nullptr) return;
  if (draining_) {
    session_->graceful_shutdown();  // the final GOAWAY, now
    schedule_flush();
  } else if (session_->stream_count() == 0) {
    drain();  // idle for --idle-timeout: goodbye with GOAWAY rather than a bare close
  }
}

void Http2ServerConnection::abort() {
  close(net::CloseMode::kAbort);
  if (downstream_.tcp != nullptr) downstream_.tcp->close(net::CloseMode::kAbort);
}

void Http2ServerConnection::update_idle() {
  if (draining_) return;  // the drain deadline runs instead
  if (session_ != nullptr && session_->stream_count() == 0) {
    idle_.set(worker_.config().idle_timeout);
  } else {
    idle_.clear();
  }
}

// ---- the session ----

void Http2ServerConnection::on_request_head(h2::Stream& stream, bool end_stream) {
  auto* ex = new (worker_.worker().blocks()) Http2Exchange(*this, stream);
  stream.set_context(ex);
  update_idle();
  ex->start(end_stream);
}

void Http2ServerConnection::on_data(h2::Stream& stream, buffer::Slice data) {
  if (Http2Exchange* ex = exchange(stream)) {
    ex->on_request_data(std::move(data));
  } else {
    session_->consume(stream, data.size());
  }
}

void Http2ServerConnection::on_trailers(h2::Stream& stream) {
  if (Http2Exchange* ex = exchange(stream)) ex->on_request_trailers(stream.trailers());
}

void Http2ServerConnection::on_stream_end(h2::Stream& stream) {
  if (Http2Exchange* ex = exchange(stream)) ex->on_request_end();
}

void Http2ServerConnection::on_stream_reset(h2::Stream& stream, h2::Http2ErrorCode code,
                                            h2::ResetOrigin) {
  if (Http2Exchange* ex = exchange(stream)) ex->on_downstream_reset(code);
}

void Http2ServerConnection::on_stream_closed(h2::Stream& stream) {
  // Request bytes the exchange never passed on still hold the connection window.
  session_->consume(stream.id(), stream.unconsumed_bytes());
  if (Http2Exchange* ex = exchange(stream)) {
    stream.set_context(nullptr);
    ex->downstream_closed();
    worker_.worker().defer_delete(std::unique_ptr<event::DeferredDeletable>(ex));
  }
  update_idle();
}

void Http2ServerConnection::on_stream_rejected(h2::StreamId id, h2::Http2ErrorCode code,
                                               std::string_view reason) {
  // The session answered 431 or reset a stream it could not accept (malformed head, over
  // the concurrency limit): counted like the same faults over HTTP/1.
  spdlog::debug("{} HTTP/2 stream {} from {} rejected ({}): {}", to_string(direction_), id,
                peer().to_string(), to_string(code), reason);
  if (code == h2::Http2ErrorCode::kRefusedStream) {
    worker_.metrics().count_error(direction_, "stream_refused");
  } else {
    worker_.metrics().count_error(direction_, code == h2::Http2ErrorCode::kNoError
                                                  ? ProxyError::kHeaderTooLarge
                                                  : ProxyError::kMalformed);
  }
}

void Http2ServerConnection::on_connection_error(const h2::ConnectionError& error) {
  worker_.metrics().count_error(direction_, to_string(error.kind));
  uint64_t suppressed = 0;
  if (worker_.log_limiter().allow(ProxyError::kMalformed, uv_now(worker_.worker().loop()),
                                  &suppressed)) {
    spdlog::info("{} HTTP/2 connection from {} closed with {}: {}", to_string(direction_),
                 peer().to_string(), to_string(error.code), error.reason);
  }
  schedule_flush();  // the GOAWAY, then on_batch_end() closes
}

void Http2ServerConnection::on_data_sent(h2::Stream& stream) {
  if (Http2Exchange* ex = exchange(stream)) ex->on_response_sent();
}

}  // namespace lmesh::proxy
