#include "proxy/upstream/http2_pool.h"

#include <vector>

#include <spdlog/spdlog.h>

namespace lmesh::proxy {

Http2ClientPool::Http2ClientPool(event::Worker& worker, const ProxyConfig& config,
                                 Direction direction, ProxyMetrics& metrics,
                                 const std::shared_ptr<const MeshTls>& mesh_tls,
                                 const EndpointIdentities& identities)
    : worker_(worker),
      config_(config),
      direction_(direction),
      metrics_(metrics),
      mesh_tls_(mesh_tls),
      identities_(identities) {}

Result<std::unique_ptr<tls::Session>> Http2ClientPool::tls_for(const net::SocketAddress& endpoint) {
  auto ticket = tickets_.find(endpoint);
  return upstream_tls(identities_, direction_, mesh_tls_, endpoint, MeshAlpn::kH2,
                      ticket != tickets_.end() ? ticket->second : nullptr);
}

Http2ClientPool::~Http2ClientPool() = default;

Http2ClientConnection& Http2ClientPool::connection(const net::SocketAddress& endpoint) {
  std::vector<Http2ClientConnection*>& open = current_[endpoint];
  Http2ClientConnection* least = nullptr;
  for (Http2ClientConnection* c : open) {
    if (!c->accepting()) continue;
    if (c->has_stream_capacity()) return *c;
    if (least == nullptr || c->stream_count() < least->stream_count()) least = c;
  }
  if (least != nullptr && open.size() >= kMaxConnectionsPerEndpoint) return *least;
  auto limit = stream_limits_.find(endpoint);
  auto tls = tls_for(endpoint);
  bool secured = tls.has_value() && *tls != nullptr;
  auto conn = std::make_unique<Http2ClientConnection>(
      *this, worker_, config_,
      metrics_.tcp(direction_, Peer::kDst, secured ? TlsLabel::kTrue : TlsLabel::kFalse), endpoint,
      limit != stream_limits_.end() ? limit->second : kAssumedStreamLimit, std::move(tls));
  Http2ClientConnection& c = *conn;
  all_.emplace(&c, std::move(conn));
  open.push_back(&c);
  spdlog::debug("opening HTTP/2 connection {} of {} to {}", open.size(), kMaxConnectionsPerEndpoint,
                endpoint.to_string());
  c.connect();
  return c;
}

void Http2ClientPool::retire(Http2ClientConnection& conn) {
  auto it = current_.find(conn.endpoint());
  if (it == current_.end()) return;
  std::erase(it->second, &conn);
  if (it->second.empty()) current_.erase(it);
}

void Http2ClientPool::closed(Http2ClientConnection& conn) {
  retire(conn);
  auto it = all_.find(&conn);
  if (it == all_.end()) return;
  std::unique_ptr<Http2ClientConnection> owned = std::move(it->second);
  all_.erase(it);
  // Its session may be on the stack (the close came from one of its callbacks).
  worker_.defer_delete(std::move(owned));
}

void Http2ClientPool::drain() {
  std::vector<Http2ClientConnection*> open;
  for (auto& [c, owned] : all_) open.push_back(c);
  for (Http2ClientConnection* c : open) c->drain();
}

void Http2ClientPool::close_all() {
  std::vector<Http2ClientConnection*> open;
  for (auto& [c, owned] : all_) open.push_back(c);
  for (Http2ClientConnection* c : open) c->close();
}

}  // namespace lmesh::proxy
