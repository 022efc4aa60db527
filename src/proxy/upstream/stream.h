// One request's way to an upstream, whatever protocol carries it there: a stream on a shared
// HTTP/2 connection (Http2UpstreamStream) or an HTTP/1.1 connection lent by the pool
// (Http1UpstreamStream). Exchanges speak to this interface, so a request that arrived over one
// protocol can leave over the other: the mesh hop (HTTP/1 → HTTP/2 between proxies → HTTP/1)
// is two exchanges, each on its own side of the wire.
//
// Bodies are slices; window/backpressure is explicit: the exchange gives response bytes back
// with consume() once it has passed them on, and holds request bytes while queued_bytes()
// says the upstream has not taken them.
#pragma once

#include <cstddef>

#include "common/buffer/slice.h"
#include "common/event/worker.h"
#include "common/http/message.h"
#include "common/result.h"
#include "proxy/proxy_metrics.h"

namespace lmesh::proxy {

class UpstreamStream : public event::DeferredDeletable {
 public:
  // What the stream tells its exchange, in protocol order. After on_upstream_end or
  // on_upstream_failed the exchange hears nothing more and sends nothing more.
  class Observer {
   public:
    virtual ~Observer() = default;
    // A response head: informational (1xx) ones, then the final one. `end_stream`: no body.
    virtual void on_upstream_head(http::ResponseHead& head, bool end_stream) = 0;
    virtual void on_upstream_data(buffer::Slice data) = 0;
    virtual void on_upstream_trailers(http::HeaderMap& trailers) = 0;
    // The response is complete.
    virtual void on_upstream_end() = 0;
    // Request bytes left the stream's queue (queued_bytes() went down).
    virtual void on_upstream_request_sent() = 0;
    // The stream ended unfinished. `retryable`: the upstream did not process the request, so
    // it may be sent again (RFC 9113 §8.7 refused streams; a reused HTTP/1 connection that
    // closed before answering).
    virtual void on_upstream_failed(ProxyError reason, const Error& cause, bool retryable) = 0;
  };

  // Request body bytes, then its end (`end_stream`, or trailers).
  virtual void send_data(buffer::Slice data, bool end_stream) = 0;
  virtual void send_trailers(const http::HeaderMap& trailers) = 0;
  // Request bytes given to send_data() that the upstream has not taken yet.
  virtual size_t queued_bytes() const = 0;
  // `n` response body bytes were passed on: the upstream may send that many more.
  virtual void consume(size_t n) = 0;
  // The exchange gives up on the stream (client gone, timeout): nothing more is reported.
  virtual void cancel() = 0;
};

}  // namespace lmesh::proxy
