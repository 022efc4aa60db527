#include "proxy/upstream/http1_stream.h"

#include "common/http/h1/encoder.h"

namespace lmesh::proxy {
namespace h1 = http::h1;

namespace {
// Methods a client may safely send twice (RFC 9110 §9.2.2): the only requests replayed when a
// pooled connection turns out to be dead.
bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}
}  // namespace

Http1UpstreamStream::Http1UpstreamStream(UpstreamPool& pool, UpstreamStream::Observer& observer)
    : pool_(pool), observer_(observer), out_(pool.worker().chunks()) {}

std::unique_ptr<UpstreamStream> Http1UpstreamStream::open(UpstreamPool& pool,
                                                          const net::SocketAddress& endpoint,
                                                          const http::RequestHead& head,
                                                          bool end_stream,
                                                          UpstreamStream::Observer& observer) {
  auto stream = std::make_unique<Http1UpstreamStream>(pool, observer);
  stream->head_request_ = head.method == "HEAD";
  stream->idempotent_ = idempotent(head.method);
  stream->conn_ = &pool.acquire(endpoint, *stream, stream->head_request_);
  stream->write_head(head, end_stream);
  return stream;
}

void Http1UpstreamStream::write_head(const http::RequestHead& head, bool end_stream) {
  h1::append_request_line(out_, head.method, head.target);
  // :authority is HTTP/2's Host (RFC 9113 §8.3.1).
  bool authority = !head.authority.empty();
  h1::append_end_to_end_fields(out_, head.headers, authority ? "host" : "");
  if (authority) h1::append_field(out_, "Host", head.authority);
  // A body of unknown length (HTTP/2 needs no length) is chunked towards HTTP/1.1.
  chunked_ = !end_stream && head.framing == http::BodyFraming::kChunked;
  if (chunked_) h1::append_field(out_, "Transfer-Encoding", "chunked");
  h1::end_head(out_);
  conn_->tcp().write(out_);
  if (end_stream) end_request();
}

void Http1UpstreamStream::end_request() {
  if (request_done_) return;
  request_done_ = true;
  conn_->request_complete();
}

void Http1UpstreamStream::send_data(buffer::Slice data, bool end_stream) {
  if (conn_ == nullptr || request_done_) return;
  if (!data.empty()) {
    if (chunked_) {
      h1::append_chunk(out_, std::move(data));
    } else {
      out_.append(std::move(data));
    }
  }
  if (end_stream) {
    if (chunked_) h1::append_last_chunk(out_, http::HeaderMap());
    conn_->tcp().write(out_);
    end_request();
    return;
  }
  conn_->tcp().write(out_);
}

void Http1UpstreamStream::send_trailers(const http::HeaderMap& trailers) {
  if (conn_ == nullptr || request_done_) return;
  // Trailers travel only in a chunked body (RFC 9112 §7.1.2); with a length they are dropped.
  if (chunked_) h1::append_last_chunk(out_, trailers);
  conn_->tcp().write(out_);
  end_request();
}

size_t Http1UpstreamStream::queued_bytes() const {
  if (conn_ == nullptr || !conn_->tcp().above_high_watermark()) return 0;
  return conn_->tcp().write_queue_bytes();
}

void Http1UpstreamStream::consume(size_t n) {
  unconsumed_ -= std::min(n, unconsumed_);
  if (conn_ != nullptr && unconsumed_ < pool_.config().connection_buffer_bytes) {
    conn_->tcp().read_start();
  }
}

void Http1UpstreamStream::cancel() {
  if (conn_ != nullptr) std::exchange(conn_, nullptr)->detach();
}

void Http1UpstreamStream::on_upstream_head(http::ResponseHead& head) {
  bool end = false;
  if (!head.informational()) {
    response_started_ = true;
    end = head.framing == http::BodyFraming::kNone ||
          (head.framing == http::BodyFraming::kContentLength && head.content_length == 0);
  } else if (head.status == 101) {
    return;  // never asked for: on_upstream_upgrade() fails the stream
  }
  observer_.on_upstream_head(head, end);
}

void Http1UpstreamStream::on_upstream_body(buffer::Slice data) {
  unconsumed_ += data.size();
  if (conn_ != nullptr && unconsumed_ >= pool_.config().connection_buffer_bytes) {
    conn_->tcp().read_stop();  // consume() starts it again
  }
  observer_.on_upstream_data(std::move(data));
}

void Http1UpstreamStream::on_upstream_complete(const http::HeaderMap& trailers) {
  pool_.release(*std::exchange(conn_, nullptr));
  if (!trailers.empty()) {
    http::HeaderMap copy = trailers;
    observer_.on_upstream_trailers(copy);
  }
  observer_.on_upstream_end();
}

void Http1UpstreamStream::on_upstream_upgrade(buffer::Slice) {
  std::exchange(conn_, nullptr)->detach();
  observer_.on_upstream_failed(
      ProxyError::kUpstreamMalformed,
      Error(ErrorCode::kProtocol, "101 Switching Protocols without an Upgrade"), false);
}

void Http1UpstreamStream::on_upstream_failed(ProxyError reason, const Error& cause) {
  UpstreamConnection* conn = std::exchange(conn_, nullptr);
  // A reused connection the server closed just as we sent: it never saw the request.
  bool retryable = reason == ProxyError::kUpstreamReset && !response_started_ && idempotent_ &&
                   conn != nullptr && conn->reused();
  observer_.on_upstream_failed(reason, cause, retryable);
}

}  // namespace lmesh::proxy
