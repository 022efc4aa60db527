#include "proxy/upstream/http1_pool.h"

#include <algorithm>
#include <cassert>

namespace lmesh::proxy {

UpstreamPool::UpstreamPool(event::Worker& worker, const ProxyConfig& config,
                           const TcpMetrics& metrics)
    : worker_(worker), config_(config), metrics_(metrics) {}

UpstreamPool::~UpstreamPool() {
  // Connections are closed through close_all() while the loop still runs.
  assert(all_.empty());
}

UpstreamConnection& UpstreamPool::acquire(const net::SocketAddress& endpoint,
                                          UpstreamConnection::Observer& observer,
                                          bool head_request) {
  if (auto it = idle_.find(endpoint); it != idle_.end() && !it->second.empty()) {
    UpstreamConnection* conn = it->second.back();
    it->second.pop_back();
    conn->attach(observer, head_request);
    return *conn;
  }
  auto owned = std::make_unique<UpstreamConnection>(*this, worker_, config_, metrics_, endpoint);
  UpstreamConnection& conn = *owned;
  all_.emplace(&conn, std::move(owned));
  conn.attach(observer, head_request);
  conn.connect();
  return conn;
}

void UpstreamPool::release(UpstreamConnection& conn) {
  auto& idle = idle_[conn.endpoint()];
  if (conn.reusable() && !draining_ && idle.size() < config_.pool_max_idle) {
    conn.park();
    idle.push_back(&conn);
  } else {
    conn.close();
  }
}

MeteredSocket UpstreamPool::take_socket(UpstreamConnection& conn) {
  forget_idle(conn);
  MeteredSocket socket = conn.release_socket();
  auto it = all_.find(&conn);
  assert(it != all_.end());
  worker_.defer_delete(std::move(it->second));
  all_.erase(it);
  return socket;
}

void UpstreamPool::drain() {
  draining_ = true;
  std::vector<UpstreamConnection*> idle;
  for (auto& [endpoint, conns] : idle_) idle.insert(idle.end(), conns.begin(), conns.end());
  for (UpstreamConnection* c : idle) c->close();
}

void UpstreamPool::close_all() {
  draining_ = true;
  std::vector<UpstreamConnection*> conns;
  conns.reserve(all_.size());
  for (auto& [ptr, owned] : all_) conns.push_back(ptr);
  for (UpstreamConnection* c : conns) c->close();
}

void UpstreamPool::forget_idle(UpstreamConnection& conn) {
  auto it = idle_.find(conn.endpoint());
  if (it == idle_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), &conn), v.end());
  if (v.empty()) idle_.erase(it);
}

void UpstreamPool::closed(UpstreamConnection& conn) {
  forget_idle(conn);
  auto it = all_.find(&conn);
  if (it == all_.end()) return;
  worker_.defer_delete(std::move(it->second));
  all_.erase(it);
}

}  // namespace lmesh::proxy
