#include "proxy/detect/detecting_connection.h"

#include <spdlog/spdlog.h>

#include <string>

#include "proxy/http1/server_connection.h"
#include "proxy/http2/server_connection.h"
#include "proxy/opaque/tcp_relay.h"
#include "proxy/proxy_worker.h"
#include "proxy/tcp_meter.h"

namespace lmesh::proxy {

DetectingConnection::DetectingConnection(ProxyWorker& worker, Direction direction)
    : ProxyConnection(worker),
      direction_(direction),
      tcp_(std::make_unique<net::TcpConnection>(
          worker.worker(), static_cast<net::TcpConnection::Handler&>(*this),
          net::WatermarkLimits{worker.config().connection_buffer_bytes,
                               worker.config().connection_buffer_bytes / 4})),
      peeked_(worker.worker().chunks()),
      timer_(worker.worker().loop(), [this] { decide(Protocol::kOpaque); }) {}

DetectingConnection::~DetectingConnection() = default;

void DetectingConnection::accept(uv_stream_t* server) {
  if (auto ok = tcp_->accept(server); !ok) {
    spdlog::debug("accept failed: {}", ok.error().describe());
    close(net::CloseMode::kNoFlush);
    return;
  }
  target_ = target_for(direction_, worker_.config(), *tcp_);
  if (auto port = target_.port(); port && worker_.config().is_opaque_port(*port)) {
    decide(Protocol::kOpaque);
    return;
  }
  tcp_->read_start();
  if (worker_.config().detect_timeout.count() > 0) timer_.arm(worker_.config().detect_timeout);
}

void DetectingConnection::on_read(buffer::Slice data) {
  peeked_.append(std::move(data));
  // The first read nearly always holds the whole request line: look at it in place.
  std::string joined;
  std::string_view prefix;
  if (peeked_.slice_count() == 1) {
    prefix = peeked_.slice(0).view();
  } else {
    joined = peeked_.to_string();
    prefix = joined;
  }
  Detection d = detect_protocol(prefix, worker_.config().max_header_bytes);
  if (!d.need_more) decide(d.protocol);
}

void DetectingConnection::on_eof() {
  // The client finished sending before its bytes said anything: relay what there is.
  if (peeked_.empty()) {
    close(net::CloseMode::kFlush);
  } else {
    decide(Protocol::kOpaque);
  }
}

void DetectingConnection::on_error(const Error& error) {
  spdlog::debug("{} connection failed during detection: {}", to_string(direction_),
                error.describe());
  close(net::CloseMode::kNoFlush);
}

template <class Server>
void DetectingConnection::hand_to_server() {
  handed_off_ = true;
  TcpMeter meter(worker_.metrics().tcp(direction_, Peer::kSrc, TlsLabel::kFalse), *tcp_);
  MeteredSocket socket{std::move(tcp_), std::move(meter)};
  // The server connection owns itself from here (it frees itself when its socket closes).
  auto* server = new Server(worker_, direction_, std::move(socket), target_);
  server->start(std::move(peeked_));
  release();
}

void DetectingConnection::decide(Protocol protocol) {
  if (handed_off_ || tcp_->closing()) return;
  timer_.disarm();
  tcp_->read_stop();
  if (protocol == Protocol::kHttp1) {
    hand_to_server<Http1ServerConnection>();
    return;
  }
  if (protocol == Protocol::kHttp2) {
    hand_to_server<Http2ServerConnection>();
    return;
  }
  // TLS is relayed as bytes until the proxy terminates it itself.
  if (!target_.destination) {
    spdlog::debug("{} {} connection has no destination; closing", to_string(direction_),
                  to_string(protocol));
    worker_.metrics().count_error(direction_, ProxyError::kNoDestination);
    close(net::CloseMode::kAbort);
    return;
  }
  handed_off_ = true;
  TlsLabel tls = protocol == Protocol::kTls ? TlsLabel::kPassthru : TlsLabel::kFalse;
  TcpMeter meter(worker_.metrics().tcp(direction_, Peer::kSrc, tls), *tcp_);
  TcpRelay::start(worker_, direction_, tls, MeteredSocket{std::move(tcp_), std::move(meter)},
                  std::move(peeked_), *target_.destination);
  release();
}

void DetectingConnection::close(net::CloseMode mode) {
  timer_.disarm();
  tcp_->close(mode);
}

void DetectingConnection::on_closed() {
  release();
}

void DetectingConnection::drain() {
  // Nothing is in flight before detection: a connection that has said nothing yet is closed.
  if (!handed_off_) close(net::CloseMode::kNoFlush);
}

void DetectingConnection::abort() {
  if (!handed_off_) close(net::CloseMode::kAbort);
}

}  // namespace lmesh::proxy
