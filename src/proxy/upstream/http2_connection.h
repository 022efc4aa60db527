// One multiplexed HTTP/2 connection (h2c, prior knowledge) from the proxy to an upstream
// endpoint, shared by every exchange of its worker that goes there. Each exchange owns one
// stream and hears about it through a StreamObserver; the connection owns the socket, the
// session, the connect and idle deadlines, and turns every way a stream or the connection can
// fail into one ProxyError.
//
// Frames go out once per loop turn (BatchEndTask), and not at all while the socket's write
// queue is over its high-water mark: the streams' queues then stop draining, their exchanges
// stop giving back window downstream, and the sender slows down instead of this connection
// buffering.
#pragma once

#include <memory>
#include <optional>

#include "common/event/deadline.h"
#include "common/event/worker.h"
#include "common/http/h2/session.h"
#include "common/net/socket_address.h"
#include "common/net/tcp_connection.h"
#include "common/tls/session.h"
#include "proxy/config.h"
#include "proxy/http2_keepalive.h"
#include "proxy/proxy_metrics.h"
#include "proxy/tcp_meter.h"
#include "proxy/upstream/stream.h"

namespace lmesh::proxy {

class Http2ClientPool;

class Http2ClientConnection final : public event::DeferredDeletable,
                                    private net::TcpConnection::Handler,
                                    private http::h2::Session::Handler,
                                    private event::BatchEndTask {
 public:
  // Each stream reports to the observer it was opened with (Http2UpstreamStream).
  using StreamObserver = UpstreamStream::Observer;

  // `assumed_peer_streams`: the streams to open before the peer's SETTINGS say how many it
  // takes (the pool remembers what earlier connections to the endpoint learned).
  Http2ClientConnection(Http2ClientPool& pool, event::Worker& worker, const ProxyConfig& config,
                        const TcpMetrics& metrics, const net::SocketAddress& endpoint,
                        uint32_t assumed_peer_streams,
                        Result<std::unique_ptr<tls::Session>> tls = nullptr);
  ~Http2ClientConnection() override;

  const net::SocketAddress& endpoint() const { return endpoint_; }
  // Starts connecting; streams may be opened at once (their frames wait for the socket).
  void connect();
  // New streams are taken: not draining, no GOAWAY received, not failed.
  bool accepting() const;
  // Streams open or waiting on this connection, and whether one more would start at once
  // (below the peer's SETTINGS_MAX_CONCURRENT_STREAMS).
  size_t stream_count() const { return session_ != nullptr ? session_->stream_count() : 0; }
  bool has_stream_capacity() const;

  // Opens a stream for `head`. `end_stream`: the request has no body.
  Result<http::h2::Stream*> open_stream(const http::RequestHead& head, bool end_stream,
                                        StreamObserver& observer);
  void send_data(http::h2::Stream& stream, buffer::Slice data, bool end_stream);
  void send_trailers(http::h2::Stream& stream, const http::HeaderMap& trailers);
  void consume(http::h2::StreamId id, size_t n);
  // The exchange is gone: the stream is cancelled (RST_STREAM CANCEL) and reports nothing more.
  void cancel(http::h2::Stream& stream);

  // No new streams; the connection closes once its streams are done.
  void drain();
  // Closes now; open streams fail.
  void close();

 private:
  // net::TcpConnection::Handler
  void on_connected() override;
  void on_read(buffer::Slice data) override;
  void on_eof() override;
  void on_error(const Error& error) override;
  void on_high_watermark() override {}
  void on_low_watermark() override { schedule_flush(); }
  void on_closed() override;
  // http::h2::Session::Handler
  void on_response_head(http::h2::Stream& stream, bool end_stream) override;
  void on_data(http::h2::Stream& stream, buffer::Slice data) override;
  void on_trailers(http::h2::Stream& stream) override;
  void on_stream_end(http::h2::Stream& stream) override;
  void on_stream_reset(http::h2::Stream& stream, http::h2::Http2ErrorCode code,
                       http::h2::ResetOrigin origin) override;
  void on_stream_closed(http::h2::Stream& stream) override;
  void on_goaway(http::h2::StreamId last_stream_id, http::h2::Http2ErrorCode code,
                 std::string_view debug) override;
  void on_connection_error(const http::h2::ConnectionError& error) override;
  void on_data_sent(http::h2::Stream& stream) override;
  void on_ping_ack(uint64_t opaque) override { keepalive_.on_ping_ack(opaque); }
  // event::BatchEndTask
  void on_batch_end() override;

  void schedule_flush();
  // The connection failed: remember why (its streams' failures report it), then give up.
  void fail(ProxyError reason, const Error& cause);
  void finish(net::CloseMode mode);
  void update_idle();
  void on_deadline();
  static StreamObserver* observer(http::h2::Stream& stream) {
    return static_cast<StreamObserver*>(stream.context());
  }

  Http2ClientPool& pool_;
  event::Worker& worker_;
  const ProxyConfig& config_;
  net::SocketAddress endpoint_;
  std::unique_ptr<net::TcpConnection> tcp_;
  TcpMeter meter_;
  std::unique_ptr<http::h2::ClientSession> session_;
  event::Deadline deadline_;  // connect, then pool-idle
  Http2Keepalive keepalive_;
  // Why streams that end with the connection failed (set by fail()).
  ProxyError failure_ = ProxyError::kUpstreamReset;
  std::optional<Error> failure_cause_;
  std::optional<Error> connect_error_;  // a connect that failed synchronously, told on a timer
  ProxyError connect_failure_ = ProxyError::kConnectFailed;
  // Mesh TLS: the session until connect() hands it to the socket, then whether there is one.
  std::unique_ptr<tls::Session> tls_;
  bool secured_ = false;
  bool handshake_done_ = false;
  uint32_t assumed_peer_streams_ = 100;
  bool limit_reported_ = false;  // the peer's stream limit went to the pool
  bool draining_ = false;
  bool closing_ = false;
};

}  // namespace lmesh::proxy
