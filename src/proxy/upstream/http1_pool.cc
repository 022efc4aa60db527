#include "proxy/upstream/http1_pool.h"

#include "proxy/identity/upstream_tls.h"

#include <algorithm>
#include <cassert>

namespace lmesh::proxy {

UpstreamPool::UpstreamPool(event::Worker& worker, const ProxyConfig& config, Direction direction,
                           ProxyMetrics& metrics, const std::shared_ptr<const MeshTls>& mesh_tls,
                           const EndpointIdentities& identities)
    : worker_(worker),
      config_(config),
      direction_(direction),
      metrics_(metrics),
      mesh_tls_(mesh_tls),
      identities_(identities) {}

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
  auto tls = upstream_tls(identities_, direction_, mesh_tls_, endpoint, MeshAlpn::kNone);
  bool secured = tls.has_value() && *tls != nullptr;
  auto owned = std::make_unique<UpstreamConnection>(
      *this, worker_, config_,
      metrics_.tcp(direction_, Peer::kDst, secured ? TlsLabel::kTrue : TlsLabel::kFalse), endpoint,
      std::move(tls));
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
