// An UpstreamStream over HTTP/1.1: a request that arrived as HTTP/2 (from a client, or from
// another proxy with lmesh-orig-proto) sent to an HTTP/1.1 upstream on a pooled connection.
//
// The head is written as HTTP/1.1 (origin-form target, Host from :authority, chunked when the
// length is unknown); the response is read by the UpstreamConnection and handed on as heads,
// slices and trailers. Backpressure: request bytes count as queued while the socket's write
// queue is over its high-water mark; response bytes handed on and not yet consumed stop the
// reading of the socket once they reach --connection-buffer-bytes.
#pragma once

#include <memory>

#include "common/buffer/buffer.h"
#include "common/net/socket_address.h"
#include "proxy/upstream/http1_pool.h"
#include "proxy/upstream/stream.h"

namespace lmesh::proxy {

class Http1UpstreamStream final : public UpstreamStream, private UpstreamConnection::Observer {
 public:
  // Sends `head` to `endpoint` on a pooled (or new) connection. `end_stream`: no body.
  static std::unique_ptr<UpstreamStream> open(UpstreamPool& pool,
                                              const net::SocketAddress& endpoint,
                                              const http::RequestHead& head, bool end_stream,
                                              UpstreamStream::Observer& observer);
  Http1UpstreamStream(UpstreamPool& pool, UpstreamStream::Observer& observer);
  ~Http1UpstreamStream() override { cancel(); }

  void send_data(buffer::Slice data, bool end_stream) override;
  void send_trailers(const http::HeaderMap& trailers) override;
  size_t queued_bytes() const override;
  void consume(size_t n) override;
  void cancel() override;

 private:
  // UpstreamConnection::Observer
  void on_upstream_head(http::ResponseHead& head) override;
  void on_upstream_body(buffer::Slice data) override;
  void on_upstream_read_end() override {}
  void on_upstream_complete(const http::HeaderMap& trailers) override;
  void on_upstream_upgrade(buffer::Slice leftover) override;
  void on_upstream_failed(ProxyError reason, const Error& cause) override;
  void on_upstream_backed_up() override {}
  void on_upstream_drained() override { observer_.on_upstream_request_sent(); }

  void write_head(const http::RequestHead& head, bool end_stream);
  void end_request();

  UpstreamPool& pool_;
  UpstreamStream::Observer& observer_;
  UpstreamConnection* conn_ = nullptr;  // null once the exchange is over
  buffer::Buffer out_;
  bool chunked_ = false;
  bool head_request_ = false;
  bool idempotent_ = false;
  bool response_started_ = false;
  bool request_done_ = false;  // the whole request is written
  size_t unconsumed_ = 0;      // response bytes handed on, not yet consumed
};

}  // namespace lmesh::proxy
