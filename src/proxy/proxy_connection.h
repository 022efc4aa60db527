// Base of every connection-owning object on a worker (detection, opaque relay, HTTP/1
// server): the worker keeps them in a list so that a graceful shutdown can reach each one,
// and frees them only through deferred deletion (STYLE.md §4).
#pragma once

#include "common/event/worker.h"

namespace lmesh::proxy {

class ProxyWorker;

class ProxyConnection : public event::DeferredDeletable {
 public:
  explicit ProxyConnection(ProxyWorker& worker);
  ~ProxyConnection() override;
  ProxyConnection(const ProxyConnection&) = delete;
  ProxyConnection& operator=(const ProxyConnection&) = delete;

  // Graceful shutdown began: finish what is in flight, take nothing new, then close.
  virtual void drain() = 0;
  // The grace period is over: close now.
  virtual void abort() = 0;

 protected:
  // Takes this object off the worker's list and frees it on a later loop turn. Call once,
  // when every handle it owns has closed.
  void release();

  ProxyWorker& worker_;

 private:
  friend class ProxyWorker;
  ProxyConnection* prev_ = nullptr;
  ProxyConnection* next_ = nullptr;
  bool released_ = false;
};

}  // namespace lmesh::proxy
