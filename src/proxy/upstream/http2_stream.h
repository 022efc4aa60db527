// An UpstreamStream on a pooled HTTP/2 connection: one stream of the endpoint's multiplexed
// connection. It stands between the connection and the exchange so that the exchange never
// holds a stream the connection has freed: on the stream's end or failure it lets go first,
// then tells the exchange.
#pragma once

#include <memory>

#include "common/buffer/block_pool.h"
#include "common/http/h2/stream.h"
#include "common/net/socket_address.h"
#include "proxy/upstream/http2_pool.h"
#include "proxy/upstream/stream.h"

namespace lmesh::proxy {

class Http2UpstreamStream final : public UpstreamStream,
                                  public buffer::PoolAllocated,
                                  private UpstreamStream::Observer {
 public:
  // Opens a stream for `head` on the pool's connection to `endpoint`. `end_stream`: no body.
  static Result<std::unique_ptr<UpstreamStream>> open(Http2ClientPool& pool,
                                                      const net::SocketAddress& endpoint,
                                                      const http::RequestHead& head,
                                                      bool end_stream,
                                                      UpstreamStream::Observer& observer);
  explicit Http2UpstreamStream(UpstreamStream::Observer& observer) : observer_(observer) {}
  ~Http2UpstreamStream() override { cancel(); }

  void send_data(buffer::Slice data, bool end_stream) override;
  void send_trailers(const http::HeaderMap& trailers) override;
  size_t queued_bytes() const override;
  void consume(size_t n) override;
  void cancel() override;

 private:
  void on_upstream_head(http::ResponseHead& head, bool end_stream) override {
    observer_.on_upstream_head(head, end_stream);
  }
  void on_upstream_data(buffer::Slice data) override {
    observer_.on_upstream_data(std::move(data));
  }
  void on_upstream_trailers(http::HeaderMap& trailers) override {
    observer_.on_upstream_trailers(trailers);
  }
  void on_upstream_end() override;
  void on_upstream_request_sent() override { observer_.on_upstream_request_sent(); }
  void on_upstream_failed(ProxyError reason, const Error& cause, bool retryable) override;

  UpstreamStream::Observer& observer_;
  Http2ClientConnection* conn_ = nullptr;  // both null once the stream is over
  http::h2::Stream* stream_ = nullptr;
};

}  // namespace lmesh::proxy
