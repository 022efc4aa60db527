// The downstream side of HTTP/1.x: one client connection, one request at a time.
//
// Requests are parsed with llhttp and forwarded to an upstream connection from the worker's
// pool; responses come back through the UpstreamConnection::Observer callbacks. To a meshed
// endpoint (another lmesh proxy) the request goes instead as a stream of the shared HTTP/2
// connection (UpstreamStream), marked lmesh-orig-proto: HTTP/1.1 so that the proxy there
// turns it back into HTTP/1.1; its response comes back through UpstreamStream::Observer. Pipelined
// requests wait, unparsed, until the exchange before them has finished, so responses leave in
// order and memory stays bounded. Heads are rebuilt (hop-by-hop fields dropped, framing chosen
// per connection); bodies pass through as Slices. Errors the proxy answers itself are built in
// one place, respond_error().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "common/buffer/buffer.h"
#include "common/event/deadline.h"
#include "common/event/timer.h"
#include "common/http/h1/parser.h"
#include "common/net/tcp_connection.h"
#include "proxy/balanced_attempt.h"
#include "proxy/direction.h"
#include "proxy/proxy_connection.h"
#include "proxy/proxy_metrics.h"
#include "proxy/request_router.h"
#include "proxy/retry/request_policy.h"
#include "proxy/routing.h"
#include "proxy/tap/worker_taps.h"
#include "proxy/tcp_meter.h"
#include "proxy/upstream/http1_connection.h"
#include "proxy/upstream/stream.h"

namespace lmesh::proxy {

class Http1ServerConnection final : public ProxyConnection,
                                    private net::TcpConnection::Handler,
                                    private http::h1::Parser::Handler,
                                    private UpstreamConnection::Observer,
                                    private UpstreamStream::Observer {
 public:
  Http1ServerConnection(ProxyWorker& worker, Direction direction, MeteredSocket downstream,
                        const ConnectionTarget& target);
  ~Http1ServerConnection() override;

  // Parses `initial` (bytes read during detection) and reads on.
  void start(buffer::Buffer initial);

  void drain() override;
  void abort() override;

 private:
  enum class State {
    kIdle,      // between requests, nothing received
    kHead,      // a request head is arriving
    kExchange,  // a request is being forwarded and/or answered
    kClosing,
  };
  // How the response body is delimited towards the client.
  enum class Framing { kNone, kLength, kChunked, kClose };

  // net::TcpConnection::Handler (downstream)
  void on_read(buffer::Slice data) override;
  void on_eof() override;
  void on_error(const Error& error) override;
  void on_high_watermark() override;
  void on_low_watermark() override;
  void on_closed() override;
  // http::h1::Parser::Handler (requests)
  void on_head() override;
  void on_body(buffer::Slice data) override;
  void on_message_complete() override;
  // UpstreamConnection::Observer
  void on_upstream_head(http::ResponseHead& head) override;
  void on_upstream_body(buffer::Slice data) override;
  void on_upstream_read_end() override;
  void on_upstream_complete(const http::HeaderMap& trailers) override;
  void on_upstream_upgrade(buffer::Slice leftover) override;
  void on_upstream_failed(ProxyError reason, const Error& cause) override;
  void on_upstream_backed_up() override;
  void on_upstream_drained() override;
  // UpstreamStream::Observer: the mesh hop, an HTTP/2 stream to another proxy
  void on_upstream_head(http::ResponseHead& head, bool end_stream) override;
  void on_upstream_data(buffer::Slice data) override;
  void on_upstream_trailers(http::HeaderMap& trailers) override;
  void on_upstream_end() override;
  void on_upstream_request_sent() override;
  void on_upstream_failed(ProxyError reason, const Error& cause, bool retryable) override;

  void process_input();
  bool parsing_allowed() const;
  void update_reading();
  // False when the choice failed and the request has been answered.
  bool routed(RouteResult result);
  // A failed attempt: true when another one is on its way (the profile allows a retry).
  bool retry_attempt();
  // The next attempt's request bytes: head, then the body kept for replay.
  void encode_replay();
  // Sends the route's mirror its copy once the request is routed and complete.
  void maybe_mirror();
  // Keeps body bytes for a retry while the route allows one and they fit in kMaxReplayBytes.
  void keep_for_replay(const buffer::Slice& piece);
  void keep_for_replay(const buffer::Buffer& bytes);
  void connect_upstream();
  // The endpoint is another proxy: the request goes as HTTP/2 (lmesh-orig-proto: HTTP/1.1).
  void open_mesh_stream();
  void retire_mesh_stream();
  void complete_response(const http::HeaderMap& trailers);
  void encode_request_head();
  void flush_request();
  void flush_response();
  void finish_exchange();
  // `status`: an injected fault's status instead of the reason's.
  void respond_error(ProxyError reason, const Error& cause, uint16_t status = 0);
  void count_response(uint16_t status, bool failure);
  void close(net::CloseMode mode);
  void enter_idle();
  void on_deadline();
  bool retry_allowed(ProxyError reason) const;

  Direction direction_;
  MeteredSocket downstream_;
  ConnectionTarget target_;
  http::h1::Parser parser_;
  buffer::Buffer pending_;      // read but not parsed yet (pipelined requests wait here)
  buffer::Buffer to_upstream_;  // encoded request bytes not yet handed to an upstream
  buffer::Buffer out_;          // response bytes being assembled for the client
  // Raw request body bytes for the next upstream: what arrived while it was being chosen
  // (the mesh hop sends them as DATA), or a retry's replay.
  buffer::Buffer early_body_;
  // The request body as sent, kept (slices shared, not copied) while a retry may replay it.
  buffer::Buffer replay_;
  bool replayable_ = false;
  bool routed_once_ = false;
  bool mirror_started_ = false;
  event::Deadline deadline_;  // idle or header deadline, by state
  State state_ = State::kIdle;
  bool downstream_eof_ = false;
  // What the last feed() left the parser waiting for.
  enum class ParserHold { kNone, kPaused, kUpgrade } parser_hold_ = ParserHold::kNone;

  // The current exchange.
  std::optional<net::SocketAddress> endpoint_;
  RequestRouter router_;
  RequestPolicy policy_;  // the profile route: response classes, timeout, retries, metrics
  std::unique_ptr<event::Timer> route_timer_;  // while the route's timeout runs
  BalancedAttempt attempt_;  // the balancer's pick, while the request is at its endpoint
  UpstreamConnection* upstream_ = nullptr;
  std::unique_ptr<UpstreamStream> mesh_;  // instead of upstream_, to a meshed endpoint
  http::HeaderMap mesh_trailers_;
  size_t mesh_unconsumed_ = 0;  // response bytes held back while the client reads slowly
  bool upstream_reused_ = false;
  int attempts_ = 0;
  bool request_counted_ = false;  // request_total has this request (its head was parsed)
  bool request_done_ = false;
  bool response_started_ = false;  // a final response head went to the client
  bool switching_ = false;         // 101 went to the client; the connection becomes a tunnel
  bool close_after_response_ = false;
  bool upstream_paused_us_ = false;  // upstream's write queue is full: downstream not read
  Framing framing_ = Framing::kNone;
  uint64_t start_ns_ = 0;
  std::unique_ptr<TapRequest> tap_;  // null unless a tap wants this request
  uint16_t status_ = 0;

  // Metrics of the authority last seen on this connection: keep-alive clients rarely change it.
  std::optional<RouteMetrics> route_;
  metrics::Counter* response_counter_ = nullptr;  // for (route_, response_counter_status_)
  uint16_t response_counter_status_ = 0;
};

}  // namespace lmesh::proxy
