#include "proxy/detect/detecting_connection.h"

#include <spdlog/spdlog.h>

#include <string>

#include "common/tls/identity_name.h"
#include "common/tls/session.h"
#include "proxy/http1/server_connection.h"
#include "proxy/http2/server_connection.h"
#include "proxy/identity/opaque_header.h"
#include "proxy/opaque/tcp_relay.h"
#include "proxy/proxy_worker.h"
#include "proxy/tcp_meter.h"

namespace lmesh::proxy {

DetectingConnection::DetectingConnection(ProxyWorker& worker, Direction direction,
                                         std::optional<net::SocketAddress> fixed_destination)
    : ProxyConnection(worker),
      direction_(direction),
      fixed_destination_(std::move(fixed_destination)),
      tcp_(std::make_unique<net::TcpConnection>(
          worker.worker(), static_cast<net::TcpConnection::Handler&>(*this),
          net::WatermarkLimits{worker.config().connection_buffer_bytes,
                               worker.config().connection_buffer_bytes / 4})),
      peeked_(worker.worker().chunks()),
      timer_(worker.worker().loop(), [this] { on_detect_timeout(); }) {}

void DetectingConnection::on_detect_timeout() {
  if (handshaking_) {
    worker_.metrics().count_handshake(direction_, "timeout");
    close(net::CloseMode::kAbort);
    return;
  }
  if (awaiting_opaque_header_) {
    worker_.metrics().count_error(direction_, "bad_opaque_header");
    close(net::CloseMode::kAbort);
    return;
  }
  // A server-speaks-first protocol: the client waits for the server, relay it as bytes.
  decide(awaiting_client_hello_ ? Protocol::kTls : Protocol::kOpaque);
}

DetectingConnection::~DetectingConnection() = default;

void DetectingConnection::accept(uv_stream_t* server) {
  if (auto ok = tcp_->accept(server); !ok) {
    spdlog::debug("accept failed: {}", ok.error().describe());
    close(net::CloseMode::kNoFlush);
    return;
  }
  target_ = target_for(direction_, worker_.config(), *tcp_);
  if (fixed_destination_) {
    target_.original_destination = *fixed_destination_;
    target_.destination = *fixed_destination_;
  }
  // Only a port the client chose says what the application speaks. A connection made straight
  // to an inbound listener (no redirect: loopback or explicit mode) comes from another proxy,
  // which opens with mesh TLS whatever the application's port, so it is always looked at.
  bool direct_inbound =
      direction_ == Direction::kInbound && (fixed_destination_ || !target_.original_destination);
  if (auto port = target_.port();
      port && !direct_inbound && worker_.config().is_opaque_port(*port)) {
    decide(Protocol::kOpaque);
    return;
  }
  tcp_->read_start();
  if (worker_.config().detect_timeout.count() > 0) timer_.arm(worker_.config().detect_timeout);
}

void DetectingConnection::on_read(buffer::Slice data) {
  peeked_.append(std::move(data));
  if (awaiting_client_hello_) {
    if (!terminate_tls()) decide(Protocol::kTls);  // relayed as the application's TLS
    return;
  }
  if (awaiting_opaque_header_) {
    read_opaque_header();
    return;
  }
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
  if (handshaking_) {
    auto why = tls::failure_reason(error);
    worker_.metrics().count_handshake(direction_, tls::metric_token(why));
    spdlog::debug("{} mesh TLS handshake from {} failed: {}", to_string(direction_),
                  tcp_->peer().to_string(), error.describe());
    close(net::CloseMode::kAbort);
    return;
  }
  spdlog::debug("{} connection failed during detection: {}", to_string(direction_),
                error.describe());
  close(net::CloseMode::kNoFlush);
}

template <class Server>
void DetectingConnection::hand_to_server() {
  handed_off_ = true;
  TcpMeter meter(worker_.metrics().tcp(direction_, Peer::kSrc, target_.tls), *tcp_);
  MeteredSocket socket{std::move(tcp_), std::move(meter)};
  // The server connection owns itself from here (it frees itself when its socket closes).
  auto* server = new Server(worker_, direction_, std::move(socket), target_);
  server->start(std::move(peeked_));
  release();
}

void DetectingConnection::decide(Protocol protocol) {
  if (handed_off_ || tcp_->closing()) return;
  bool mesh_tls = protocol == Protocol::kTls && direction_ == Direction::kInbound && !secured_ &&
                  worker_.mesh_tls() != nullptr;
  if (mesh_tls && !awaiting_client_hello_ && !tls_not_ours_ && terminate_tls()) return;
  awaiting_client_hello_ = false;
  if (direction_ == Direction::kInbound && !secured_ && worker_.config().inbound_require_identity) {
    refuse_plaintext();
    return;
  }
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
  relay(secured_                     ? TlsLabel::kTrue
        : protocol == Protocol::kTls ? TlsLabel::kPassthru
                                     : TlsLabel::kFalse);
}

void DetectingConnection::relay(TlsLabel tls) {
  DiscoveryCache* discovery = worker_.discovery();
  if (direction_ == Direction::kOutbound && discovery != nullptr && target_.original_destination) {
    auto found = discovery->lookup(target_.original_destination->to_string(),
                                   [this, tls](Result<DiscoveryCache::Service*> r) {
                                     lookup_.reset();  // spent; this runs from inside it
                                     relay_to(tls, std::move(r));
                                   });
    if (found.pending) {
      lookup_ = std::move(found.pending);  // reading stays stopped meanwhile
      return;
    }
    relay_to(tls, found.service);
    return;
  }
  relay_to(tls, nullptr);
}

void DetectingConnection::relay_to(TlsLabel tls, Result<DiscoveryCache::Service*> service) {
  if (!service) {
    worker_.metrics().count_error(direction_, ProxyError::kDiscoveryTimeout);
    spdlog::debug("{} opaque connection: {}", to_string(direction_), service.error().describe());
    close(net::CloseMode::kAbort);
    return;
  }
  net::SocketAddress destination = *target_.destination;
  std::optional<balance::Pick> pick;
  if (*service != nullptr) {
    DiscoveryCache& cache = *worker_.discovery();
    auto picked = cache.pick(**service);
    if (!picked && picked.error().reason == balance::NoEndpoint::Reason::kNoEndpoints) {
      auto wait = cache.await_endpoints(**service, [this, tls](Result<DiscoveryCache::Service*> r) {
        lookup_.reset();  // spent; this runs from inside it
        if (r) {
          relay_to(tls, *r);  // endpoints came, or discovery forgot the service: go direct
          return;
        }
        worker_.metrics().count_error(direction_, ProxyError::kNoEndpoints);
        spdlog::debug("{} opaque connection: {}", to_string(direction_), r.error().describe());
        close(net::CloseMode::kAbort);
      });
      if (wait) {
        lookup_ = std::move(wait);  // reading stays stopped meanwhile
        return;
      }
    }
    if (!picked) {
      worker_.metrics().count_error(direction_, ProxyError::kNoEndpoints);
      spdlog::debug("{} opaque connection to {}: {}", to_string(direction_), (*service)->authority,
                    picked.error().describe());
      close(net::CloseMode::kAbort);
      return;
    }
    destination = picked->address();
    pick = std::move(*picked);
  }
  handed_off_ = true;
  TcpMeter meter(worker_.metrics().tcp(direction_, Peer::kSrc, tls), *tcp_);
  TcpRelay::start(worker_, direction_, tls, MeteredSocket{std::move(tcp_), std::move(meter)},
                  std::move(peeked_), destination, std::move(pick));
  release();
}

bool DetectingConnection::terminate_tls() {
  std::string hello = peeked_.to_string();
  // The whole first record (RFC 8446 §5.1: a 5-byte header with its length), so that the
  // server-name check sees the ClientHello before the handshake writes anything back.
  if (hello.size() < 5) {
    tls_not_ours_ = true;
    return false;
  }
  size_t record = 5 + ((static_cast<uint8_t>(hello[3]) << 8) | static_cast<uint8_t>(hello[4]));
  if (hello.size() < record) {
    awaiting_client_hello_ = true;
    tcp_->read_start();
    return true;
  }
  awaiting_client_hello_ = false;
  const MeshTls& mesh = *worker_.mesh_tls();
  // Any mesh identity name is mesh TLS: a client expecting someone else then learns so from
  // this proxy's certificate (tls identity mismatch) instead of reaching the application.
  auto session = tls::Session::server(mesh.server, {std::string(tls::kIdentityNameSuffix)});
  if (!session) {
    spdlog::warn("cannot start mesh TLS: {}", session.error().describe());
    return false;
  }
  auto started = tcp_->set_transport_layer(std::move(*session), hello);
  if (!started) {
    auto why = tls::failure_reason(started.error());
    if (why == tls::FailureReason::kNotForThisServer) {
      tls_not_ours_ = true;
      return false;
    }
    worker_.metrics().count_handshake(direction_, tls::metric_token(why));
    spdlog::debug("{} mesh TLS from {} refused: {}", to_string(direction_),
                  tcp_->peer().to_string(), started.error().describe());
    close(net::CloseMode::kAbort);
    return true;
  }
  peeked_.clear();
  handshaking_ = true;
  tcp_->read_start();
  if (worker_.config().detect_timeout.count() > 0) timer_.arm(worker_.config().detect_timeout);
  return true;
}

void DetectingConnection::on_connected() {
  if (!handshaking_) return;
  handshaking_ = false;
  secured_ = true;
  auto* session = static_cast<tls::Session*>(tcp_->transport_layer());
  worker_.metrics().count_handshake(direction_, session->resumed() ? "resumed" : "success");
  target_.tls = TlsLabel::kTrue;
  target_.client_identity = session->peer_identity().value_or("");
  // Opaque TCP names its port first; anything else is detected again on the plaintext (an
  // HTTP/2 preface, normally).
  awaiting_opaque_header_ = session->alpn() == kAlpnOpaque;
}

void DetectingConnection::read_opaque_header() {
  std::string bytes = peeked_.to_string();
  auto header = parse_opaque_header(bytes);
  if (!header) {
    spdlog::debug("inbound opaque connection from {}: {}", tcp_->peer().to_string(),
                  header.error().describe());
    worker_.metrics().count_error(direction_, "bad_opaque_header");
    close(net::CloseMode::kAbort);
    return;
  }
  if (!header->has_value()) return;  // read on
  awaiting_opaque_header_ = false;
  peeked_.drain((*header)->length);
  // The port the client's application asked for, on this side's application; a listener for
  // one application port has already said which.
  if (!fixed_destination_) {
    target_.destination =
        worker_.config().inbound_forward.value_or(net::SocketAddress::loopback_v4((*header)->port));
  }
  decide(Protocol::kOpaque);
}

void DetectingConnection::refuse_plaintext() {
  spdlog::debug(
      "inbound connection from {} has no mesh identity; refused (--inbound-require-identity)",
      tcp_->peer().to_string());
  worker_.metrics().count_error(direction_, "identity_required");
  close(net::CloseMode::kAbort);
}

void DetectingConnection::close(net::CloseMode mode) {
  timer_.disarm();
  lookup_.reset();
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
