#include "proxy/proxy_worker.h"

#include <spdlog/spdlog.h>

#include "proxy/detect/detecting_connection.h"
#include "proxy/proxy_connection.h"

namespace lmesh::proxy {

ProxyWorker::ProxyWorker(event::Worker& worker, std::shared_ptr<const ProxyConfig> config,
                         std::function<void()> on_drained)
    : worker_(worker),
      config_(std::move(config)),
      on_drained_(std::move(on_drained)),
      taps_(worker.index()),
      identities_(*config_),
      inbound_pool_(worker, *config_, Direction::kInbound, metrics_, mesh_tls_, identities_),
      outbound_pool_(worker, *config_, Direction::kOutbound, metrics_, mesh_tls_, identities_),
      inbound_h2_pool_(worker, *config_, Direction::kInbound, metrics_, mesh_tls_, identities_),
      outbound_h2_pool_(worker, *config_, Direction::kOutbound, metrics_, mesh_tls_, identities_) {}

ProxyWorker::~ProxyWorker() = default;

Result<net::SocketAddress> ProxyWorker::listen(Direction direction,
                                               const net::SocketAddress& address) {
  auto listener = std::make_unique<net::Listener>(
      worker_.loop(), [this, direction](uv_stream_t* server) { on_accept(direction, server); });
  if (auto ok = listener->listen(address, /*reuse_port=*/true); !ok) {
    return fail(Error::wrap(ok.error(), std::string(to_string(direction)) + " listener"));
  }
  net::SocketAddress bound = listener->local_address();
  (direction == Direction::kInbound ? inbound_listener_ : outbound_listener_) = std::move(listener);
  return bound;
}

Result<net::SocketAddress> ProxyWorker::listen_for(Direction direction,
                                                   const net::SocketAddress& address,
                                                   const net::SocketAddress& target) {
  auto listener =
      std::make_unique<net::Listener>(worker_.loop(), [this, direction, target](uv_stream_t* s) {
        // Owns itself from here, as on_accept's connections do.
        auto* conn = new DetectingConnection(*this, direction, target);
        conn->accept(s);
      });
  if (auto ok = listener->listen(address, /*reuse_port=*/true); !ok) {
    return fail(Error::wrap(
        ok.error(), std::string(to_string(direction)) + " listener for " + target.to_string()));
  }
  net::SocketAddress bound = listener->local_address();
  service_listeners_.push_back(std::move(listener));
  return bound;
}

void ProxyWorker::report_error(Direction direction, ProxyError reason,
                               const net::SocketAddress& peer, const Error& cause,
                               std::string_view via) {
  metrics_.count_error(direction, reason);
  uint64_t suppressed = 0;
  if (!log_limiter_.allow(reason, uv_now(worker_.loop()), &suppressed)) return;
  spdlog::log(client_caused(reason) ? spdlog::level::info : spdlog::level::warn,
              "{} {} from {}{}: {}{}", to_string(direction), info(reason).header, peer.to_string(),
              via, cause.describe(),
              suppressed > 0 ? fmt::format(" ({} similar suppressed)", suppressed) : "");
}

void ProxyWorker::on_accept(Direction direction, uv_stream_t* server) {
  // The detecting connection owns itself from here: it frees itself when its socket closes.
  auto* conn = new DetectingConnection(*this, direction);
  conn->accept(server);
}

template <class Fn>
void ProxyWorker::for_each_connection(Fn&& fn) {
  // A callback may unlink the current connection (closing frees it later, unlinking now).
  for (ProxyConnection* c = connections_; c != nullptr;) {
    ProxyConnection* next = c->next_;
    fn(*c);
    c = next;
  }
}

void ProxyWorker::drain() {
  if (draining_) return;
  draining_ = true;
  if (inbound_listener_) inbound_listener_->close();
  if (outbound_listener_) outbound_listener_->close();
  for (auto& l : service_listeners_) l->close();
  for_each_connection([](ProxyConnection& c) { c.drain(); });
  inbound_pool_.drain();
  outbound_pool_.drain();
  inbound_h2_pool_.drain();
  outbound_h2_pool_.drain();
  if (connection_count_ == 0 && on_drained_) on_drained_();
}

void ProxyWorker::shutdown() {
  draining_ = true;
  on_drained_ = nullptr;
  if (inbound_listener_) inbound_listener_->close();
  if (outbound_listener_) outbound_listener_->close();
  for (auto& l : service_listeners_) l->close();
  for_each_connection([](ProxyConnection& c) { c.abort(); });
  mirrors_.close_all();
  if (discovery_ != nullptr) discovery_->close();
  inbound_pool_.close_all();
  outbound_pool_.close_all();
  inbound_h2_pool_.close_all();
  outbound_h2_pool_.close_all();
  worker_.stop();
}

void ProxyWorker::link(ProxyConnection* c) {
  c->next_ = connections_;
  if (connections_ != nullptr) connections_->prev_ = c;
  connections_ = c;
  ++connection_count_;
}

void ProxyWorker::unlink(ProxyConnection* c) {
  if (c->prev_ != nullptr) c->prev_->next_ = c->next_;
  if (c->next_ != nullptr) c->next_->prev_ = c->prev_;
  if (connections_ == c) connections_ = c->next_;
  c->prev_ = c->next_ = nullptr;
  --connection_count_;
  if (draining_ && connection_count_ == 0 && on_drained_) {
    auto fn = std::move(on_drained_);
    on_drained_ = nullptr;
    fn();
  }
}

}  // namespace lmesh::proxy
