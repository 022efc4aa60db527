#include "proxy/proxy_connection.h"

#include <cassert>
#include <memory>

#include "proxy/proxy_worker.h"

namespace lmesh::proxy {

ProxyConnection::ProxyConnection(ProxyWorker& worker) : worker_(worker) {
  worker_.link(this);
}

ProxyConnection::~ProxyConnection() {
  if (!released_) worker_.unlink(this);
}

void ProxyConnection::release() {
  assert(!released_);
  released_ = true;
  worker_.unlink(this);
  worker_.worker().defer_delete(std::unique_ptr<event::DeferredDeletable>(this));
}

}  // namespace lmesh::proxy
