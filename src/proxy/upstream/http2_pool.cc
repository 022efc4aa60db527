#include "proxy/upstream/http2_pool.h"

#include <vector>

#include <spdlog/spdlog.h>

namespace lmesh::proxy {

Http2ClientPool::Http2ClientPool(event::Worker& worker, const ProxyConfig& config,
                                 const TcpMetrics& metrics)
    : worker_(worker), config_(config), metrics_(metrics) {}

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
  auto conn = std::make_unique<Http2ClientConnection>(
      *this, worker_, config_, metrics_, endpoint,
      limit != stream_limits_.end() ? limit->second : kAssumedStreamLimit);
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
