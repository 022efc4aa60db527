#include "proxy/opaque/tcp_relay.h"

#include <spdlog/spdlog.h>

#include "proxy/identity/opaque_header.h"
#include "proxy/identity/upstream_tls.h"
#include "proxy/proxy_worker.h"

namespace lmesh::proxy {

TcpRelay::TcpRelay(ProxyWorker& worker)
    : ProxyConnection(worker),
      down_(*this, "downstream"),
      up_(*this, "upstream"),
      deadline_(worker.worker().loop(), [this] { on_deadline(); }) {
  down_.peer_ = &up_;
  up_.peer_ = &down_;
}

void TcpRelay::start(ProxyWorker& worker, Direction direction, TlsLabel tls,
                     MeteredSocket downstream, buffer::Buffer initial,
                     const net::SocketAddress& destination, std::optional<balance::Pick> pick) {
  auto* relay = new TcpRelay(worker);
  relay->direction_ = direction;
  relay->pick_ = std::move(pick);
  relay->connect_started_ns_ = uv_hrtime();
  if (relay->pick_) relay->pick_->start(relay->connect_started_ns_);
  relay->down_.adopt(std::move(downstream));
  const ProxyConfig& config = worker.config();
  auto upstream = std::make_unique<net::TcpConnection>(
      worker.worker(), relay->up_,
      net::WatermarkLimits{config.connection_buffer_bytes, config.connection_buffer_bytes / 4});
  // To a meshed endpoint with an identity: mutual TLS, then the port the application wanted.
  auto session = upstream_tls(worker.endpoint_identities(), direction, worker.mesh_tls(),
                              destination, MeshAlpn::kOpaque);
  if (!session) {
    spdlog::debug("{} relay to {}: {}", to_string(direction), destination.to_string(),
                  session.error().describe());
    worker.metrics().count_error(direction, ProxyError::kNoIdentity);
    relay->up_.adopt(MeteredSocket{std::move(upstream), TcpMeter()});
    relay->close_both(net::CloseMode::kAbort);
    return;
  }
  net::SocketAddress connect_to = destination;
  if (*session != nullptr) {
    relay->secured_upstream_ = true;
    (void)upstream->set_transport_layer(std::move(*session));
    upstream->write(opaque_header(destination.port()));  // sealed once the handshake is done
    connect_to = worker.endpoint_identities().opaque_transport(destination);
  }
  TlsLabel up_tls = relay->secured_upstream_ ? TlsLabel::kTrue : tls;
  TcpMeter meter(worker.metrics().tcp(direction, Peer::kDst, up_tls), *upstream);
  relay->up_.adopt(MeteredSocket{std::move(upstream), std::move(meter)});
  if (auto ok = relay->up_.tcp().connect(connect_to, config.upstream_source(direction)); !ok) {
    spdlog::debug("{} relay: {}", to_string(direction), ok.error().describe());
    relay->close_both(net::CloseMode::kAbort);
    return;
  }
  relay->connecting_ = true;
  relay->deadline_.set(config.connect_timeout);
  relay->begin(std::move(initial), buffer::Buffer(worker.worker().chunks()));
}

void TcpRelay::join(ProxyWorker& worker, MeteredSocket downstream, buffer::Buffer to_upstream,
                    MeteredSocket upstream, buffer::Buffer to_downstream) {
  auto* relay = new TcpRelay(worker);
  relay->down_.adopt(std::move(downstream));
  relay->up_.adopt(std::move(upstream));
  relay->touch();
  relay->begin(std::move(to_upstream), std::move(to_downstream));
}

void TcpRelay::begin(buffer::Buffer to_upstream, buffer::Buffer to_downstream) {
  up_.tcp().write(to_upstream);  // queued until connected
  down_.tcp().write(to_downstream);
  down_.tcp().read_start();
  up_.tcp().read_start();
}

void TcpRelay::Side::adopt(MeteredSocket socket) {
  socket_ = std::move(socket);
  socket_.tcp->set_handler(*this);
}

void TcpRelay::touch() {
  if (!connecting_) deadline_.set(worker_.config().idle_timeout);
}

void TcpRelay::on_deadline() {
  if (closing_) return;
  if (connecting_) {
    spdlog::debug("relay: upstream connect timed out");
    finish_pick(false);
    close_both(net::CloseMode::kAbort);
    return;
  }
  spdlog::debug("relay idle for {} ms; closing", worker_.config().idle_timeout.count());
  close_both(net::CloseMode::kNoFlush);
}

void TcpRelay::Side::on_read(buffer::Slice data) {
  relay_.touch();
  peer_->tcp().write(std::move(data));
}

void TcpRelay::Side::on_eof() {
  eof_ = true;
  peer_->tcp().shutdown_write();
  if (peer_->eof_) relay_.close_both(net::CloseMode::kFlush);
}

void TcpRelay::Side::on_error(const Error& error) {
  spdlog::debug("relay {} failed: {}", name_, error.describe());
  if (this == &relay_.up_ && relay_.secured_upstream_ && relay_.connecting_) {
    count_handshake_failed(relay_.worker_.metrics(), relay_.direction_, error);
  }
  if (this == &relay_.up_ && relay_.connecting_) relay_.finish_pick(false);
  // Pass the failure on as a reset, so the other end does not mistake it for a clean end.
  relay_.close_both(net::CloseMode::kAbort);
}

void TcpRelay::Side::on_connected() {
  if (relay_.secured_upstream_) {
    count_handshake_done(relay_.worker_.metrics(), relay_.direction_, tcp());
  }
  relay_.connecting_ = false;
  relay_.finish_pick(true);
  relay_.deadline_.clear();
  relay_.touch();
}

void TcpRelay::Side::on_high_watermark() {
  // This side cannot take more: stop reading the side that feeds it.
  peer_->tcp().read_stop();
}

void TcpRelay::Side::on_low_watermark() {
  if (!peer_->eof_) peer_->tcp().read_start();
}

void TcpRelay::Side::on_closed() {
  closed_ = true;
  relay_.side_closed();
}

void TcpRelay::finish_pick(bool connected) {
  if (!pick_) return;
  uint64_t now = uv_hrtime();
  pick_->complete(now, now - connect_started_ns_, connected);
  pick_.reset();
}

void TcpRelay::abort() {
  close_both(net::CloseMode::kAbort);
  // Sides still flushing after a half-close end now: the grace period is over.
  for (Side* s : {&down_, &up_}) {
    if (s->attached() && !s->closed_) s->tcp().close(net::CloseMode::kAbort);
  }
}

void TcpRelay::close_both(net::CloseMode mode) {
  if (closing_) return;
  closing_ = true;
  deadline_.clear();
  for (Side* s : {&down_, &up_}) {
    if (s->attached()) {
      s->tcp().close(mode);
    } else {
      s->closed_ = true;
    }
  }
  side_closed();
}

void TcpRelay::side_closed() {
  if (closing_ && down_.closed_ && up_.closed_) release();
}

}  // namespace lmesh::proxy
