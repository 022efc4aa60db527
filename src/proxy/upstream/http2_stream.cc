#include "proxy/upstream/http2_stream.h"

namespace lmesh::proxy {

Result<std::unique_ptr<UpstreamStream>> Http2UpstreamStream::open(
    Http2ClientPool& pool, const net::SocketAddress& endpoint, const http::RequestHead& head,
    bool end_stream, UpstreamStream::Observer& observer) {
  std::unique_ptr<Http2UpstreamStream> stream(new (pool.blocks()) Http2UpstreamStream(observer));
  Http2ClientConnection& conn = pool.connection(endpoint);
  auto opened = conn.open_stream(head, end_stream, *stream);
  if (!opened) return fail(opened.error());
  stream->conn_ = &conn;
  stream->stream_ = *opened;
  return std::unique_ptr<UpstreamStream>(std::move(stream));
}

void Http2UpstreamStream::send_data(buffer::Slice data, bool end_stream) {
  if (stream_ != nullptr) conn_->send_data(*stream_, std::move(data), end_stream);
}

void Http2UpstreamStream::send_trailers(const http::HeaderMap& trailers) {
  if (stream_ != nullptr) conn_->send_trailers(*stream_, trailers);
}

size_t Http2UpstreamStream::queued_bytes() const {
  return stream_ != nullptr ? stream_->queued_bytes() : 0;
}

void Http2UpstreamStream::consume(size_t n) {
  if (stream_ != nullptr) conn_->consume(stream_->id(), n);
}

void Http2UpstreamStream::cancel() {
  if (stream_ != nullptr) conn_->cancel(*stream_);
  stream_ = nullptr;
  conn_ = nullptr;
}

void Http2UpstreamStream::on_upstream_end() {
  // The connection frees the stream when it closes; a request still being sent is stopped
  // (the response is complete: RFC 9113 §8.1 lets the client stop).
  if (stream_ != nullptr && !stream_->local_end_queued()) conn_->cancel(*stream_);
  stream_ = nullptr;
  conn_ = nullptr;
  observer_.on_upstream_end();
}

void Http2UpstreamStream::on_upstream_failed(ProxyError reason, const Error& cause,
                                             bool retryable) {
  stream_ = nullptr;
  conn_ = nullptr;
  observer_.on_upstream_failed(reason, cause, retryable);
}

}  // namespace lmesh::proxy
