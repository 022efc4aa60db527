#include "proxy/http2/client_pool.h"

#include <vector>

namespace lmesh::proxy {

Http2ClientPool::Http2ClientPool(event::Worker& worker, const ProxyConfig& config,
                                 const TcpMetrics& metrics)
    : worker_(worker), config_(config), metrics_(metrics) {}

Http2ClientPool::~Http2ClientPool() = default;

Http2ClientConnection& Http2ClientPool::connection(const net::SocketAddress& endpoint) {
  auto it = current_.find(endpoint);
  if (it != current_.end() && it->second->accepting()) return *it->second;
  if (it != current_.end()) current_.erase(it);
  auto conn = std::make_unique<Http2ClientConnection>(*this, worker_, config_, metrics_, endpoint);
  Http2ClientConnection& c = *conn;
  all_.emplace(&c, std::move(conn));
  current_[endpoint] = &c;
  c.connect();
  return c;
}

void Http2ClientPool::retire(Http2ClientConnection& conn) {
  auto it = current_.find(conn.endpoint());
  if (it != current_.end() && it->second == &conn) current_.erase(it);
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
