// One HTTP/2 request relayed by the proxy: a downstream stream (on an Http2ServerConnection)
// joined to an UpstreamStream: a stream on a pooled HTTP/2 connection, or, for an HTTP/1.1
// request another proxy carried here as HTTP/2 (lmesh-orig-proto), a pooled HTTP/1.1
// connection to the application.
//
// Bodies pass through as slices and windows are passed back, not bytes buffered: request bytes
// are given back to the client (consume) only once they have left the upstream stream's queue,
// and response bytes to the server only once they have left the downstream one. A slow reader
// on either side therefore closes the other side's window; what the proxy holds per stream is
// bounded by the stream windows.
//
// gRPC calls (content-type application/grpc*) are counted with their grpc-status, and errors the
// proxy answers itself are sent the gRPC way (200, grpc-status UNAVAILABLE or DEADLINE_EXCEEDED,
// no body) so that gRPC clients see a status rather than a protocol error.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "common/buffer/block_pool.h"
#include "common/buffer/buffer.h"
#include "common/event/deadline_queue.h"
#include "common/event/timer.h"
#include "common/event/worker.h"
#include "common/http/h2/session.h"
#include "proxy/balanced_attempt.h"
#include "proxy/proxy_metrics.h"
#include "proxy/request_router.h"
#include "proxy/retry/request_policy.h"
#include "proxy/tap/worker_taps.h"
#include "proxy/upstream/stream.h"

namespace lmesh::proxy {

class Http2ServerConnection;

class Http2Exchange final : public event::DeferredDeletable,
                            public buffer::PoolAllocated,
                            private UpstreamStream::Observer,
                            private event::DeadlineQueue::Entry {
 public:
  Http2Exchange(Http2ServerConnection& server, http::h2::Stream& downstream);
  ~Http2Exchange() override;

  // The request head arrived; `end_stream`: it has no body.
  void start(bool end_stream);

  // Downstream events, from the server connection.
  void on_request_data(buffer::Slice data);
  void on_request_trailers(const http::HeaderMap& trailers);
  void on_request_end();
  // Response bytes left the downstream stream's queue.
  void on_response_sent();
  // The client reset the stream or the connection went away.
  void on_downstream_reset(http::h2::Http2ErrorCode code);
  // The downstream stream is gone: let go of everything; the exchange is freed next.
  void downstream_closed();

 private:
  // UpstreamStream::Observer
  void on_upstream_head(http::ResponseHead& head, bool end_stream) override;
  void on_upstream_data(buffer::Slice data) override;
  void on_upstream_trailers(http::HeaderMap& trailers) override;
  void on_upstream_end() override;
  void on_upstream_request_sent() override;
  void on_upstream_failed(ProxyError reason, const Error& cause, bool retryable) override;

  void routed(RouteResult result);
  // A failed attempt: true when another one is on its way (the profile allows a retry).
  bool retry_attempt();
  void keep_for_replay(const buffer::Slice& piece);
  // Sends the route's mirror its copy once the request is routed and complete.
  void maybe_mirror();
  void open_upstream();
  // END_STREAM upstream: after the trailers when the request had some.
  void end_request_upstream();
  // The upstream stream is over (ended, failed or cancelled): let go of it.
  void retire_upstream();
  // `status`: an injected fault's status instead of the reason's.
  void respond_error(ProxyError reason, const Error& cause, uint16_t status = 0);
  void detach_upstream();
  void count_response(uint16_t status, std::optional<uint32_t> grpc_status, bool failure);
  // event::DeadlineQueue::Entry: no response head within --upstream-timeout.
  void expire() override;
  http::h2::ServerSession& session();

  Http2ServerConnection& server_;
  http::h2::Stream* downstream_;  // null once the downstream stream closed
  std::optional<RouteMetrics> route_;
  bool grpc_ = false;
  uint64_t start_ns_ = 0;
  std::unique_ptr<TapRequest> tap_;  // null unless a tap wants this request
  int attempts_ = 0;

  // Upstream.
  std::optional<net::SocketAddress> endpoint_;
  RequestRouter router_;
  RequestPolicy policy_;  // the profile route: response classes, timeout, retries, metrics
  bool routed_once_ = false;
  // The request body as sent, kept (slices shared, not copied) while a retry may replay it.
  buffer::Buffer replay_;
  bool replayable_ = false;
  bool window_settled_ = false;  // every request byte has been given back to the client
  bool mirror_started_ = false;
  std::unique_ptr<event::Timer> route_timer_;  // while the route's timeout runs
  BalancedAttempt attempt_;  // the balancer's pick, while the request is at its endpoint
  std::unique_ptr<UpstreamStream> upstream_;  // while its stream is live
  bool to_http1_ = false;  // an HTTP/1.1 request carried here by another proxy (lmesh-orig-proto)
  bool upstream_done_ = false;  // the upstream side ended (answered, failed or cancelled)

  // Request: what arrived before the upstream stream existed, and window accounting.
  buffer::Buffer early_body_;
  std::optional<http::HeaderMap> request_trailers_;
  bool request_ended_ = false;      // the client's side of the stream is complete
  bool request_end_sent_ = false;   // ... and the upstream stream has been told
  uint64_t request_forwarded_ = 0;  // bytes handed to the upstream stream
  uint64_t request_returned_ = 0;   // of those, given back to the client

  // Response.
  bool response_started_ = false;     // the final head went downstream
  bool response_end_queued_ = false;  // END_STREAM downstream is queued
  bool response_counted_ = false;
  uint16_t status_ = 0;
  std::optional<uint32_t> head_grpc_status_;  // a trailers-only gRPC response's
  std::optional<uint32_t> trailer_grpc_status_;
  uint64_t response_forwarded_ = 0;  // bytes handed to the downstream stream
  uint64_t response_returned_ = 0;   // of those, given back to the upstream
};

}  // namespace lmesh::proxy
