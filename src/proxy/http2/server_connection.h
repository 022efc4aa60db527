// The downstream side of HTTP/2 (h2c with prior knowledge): one client connection, many
// concurrent streams, each relayed by its own Http2Exchange to an upstream HTTP/2 connection
// from the worker's pool.
//
// The connection owns the socket and the session; exchanges own the per-request work and call
// back here for what touches the session (responses, data, window updates). Frames go out once
// per loop turn, and not while the socket's write queue is over its high-water mark, so a
// client that does not read stops the upstreams feeding it through flow control.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/buffer/buffer.h"
#include "common/event/deadline.h"
#include "common/event/deadline_queue.h"
#include "common/http/h2/session.h"
#include "common/net/tcp_connection.h"
#include "proxy/direction.h"
#include "proxy/http2_keepalive.h"
#include "proxy/proxy_connection.h"
#include "proxy/proxy_metrics.h"
#include "proxy/routing.h"
#include "proxy/tcp_meter.h"

namespace lmesh::proxy {

class Http2Exchange;

class Http2ServerConnection final : public ProxyConnection,
                                    private net::TcpConnection::Handler,
                                    private http::h2::Session::Handler,
                                    private event::BatchEndTask {
 public:
  Http2ServerConnection(ProxyWorker& worker, Direction direction, MeteredSocket downstream,
                        const ConnectionTarget& target);
  ~Http2ServerConnection() override;

  // Feeds `initial` (the bytes detection read, the preface among them) and reads on.
  void start(buffer::Buffer initial);

  void drain() override;
  void abort() override;

  // For exchanges.
  ProxyWorker& proxy_worker() { return worker_; }
  Direction direction() const { return direction_; }
  const ConnectionTarget& target() const { return target_; }
  const net::SocketAddress& peer() const { return downstream_.tcp->peer(); }
  http::h2::ServerSession& session() { return *session_; }
  // The route metrics of `authority`, cached for the connection's last one.
  const RouteMetrics& route(std::string_view authority);
  // response_total's series for a response on `route`, cached for the connection's last one:
  // a client's responses rarely change route or status, and a lookup hashes every label.
  metrics::Counter& response_counter(const RouteMetrics& route, uint16_t status,
                                     std::optional<uint32_t> grpc_status, bool failure);
  void schedule_flush();
  // Every exchange's wait for its response head (--upstream-timeout), on one timer.
  event::DeadlineQueue& response_deadlines() { return response_deadlines_; }

 private:
  // net::TcpConnection::Handler
  void on_read(buffer::Slice data) override;
  void on_eof() override;
  void on_error(const Error& error) override;
  void on_high_watermark() override {}
  void on_low_watermark() override { schedule_flush(); }
  void on_closed() override;
  // http::h2::Session::Handler
  void on_request_head(http::h2::Stream& stream, bool end_stream) override;
  void on_data(http::h2::Stream& stream, buffer::Slice data) override;
  void on_trailers(http::h2::Stream& stream) override;
  void on_stream_end(http::h2::Stream& stream) override;
  void on_stream_reset(http::h2::Stream& stream, http::h2::Http2ErrorCode code,
                       http::h2::ResetOrigin origin) override;
  void on_stream_closed(http::h2::Stream& stream) override;
  void on_stream_rejected(http::h2::StreamId id, http::h2::Http2ErrorCode code,
                          std::string_view reason) override;
  void on_connection_error(const http::h2::ConnectionError& error) override;
  void on_data_sent(http::h2::Stream& stream) override;
  void on_ping_ack(uint64_t opaque) override { keepalive_.on_ping_ack(opaque); }
  // event::BatchEndTask
  void on_batch_end() override;

  void update_idle();
  void on_idle_deadline();
  void close(net::CloseMode mode);
  static Http2Exchange* exchange(http::h2::Stream& stream) {
    return static_cast<Http2Exchange*>(stream.context());
  }

  Direction direction_;
  MeteredSocket downstream_;
  ConnectionTarget target_;
  std::unique_ptr<http::h2::ServerSession> session_;
  event::Deadline idle_;  // --idle-timeout without streams; while draining, the PING's
  Http2Keepalive keepalive_;
  event::DeadlineQueue response_deadlines_;
  std::optional<RouteMetrics> route_;
  // The series response_counter() returned last, and the labels that vary on a connection
  // (direction, tls and client identity are the connection's own).
  metrics::Counter* response_counter_ = nullptr;
  std::string response_authority_;
  uint16_t response_status_ = 0;
  std::optional<uint32_t> response_grpc_status_;
  bool response_failure_ = false;
  bool draining_ = false;
  bool closing_ = false;
};

}  // namespace lmesh::proxy
