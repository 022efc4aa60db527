// Asynchronous name resolution on a worker loop: uv_getaddrinfo runs on libuv's thread pool.
// Callers resolve numeric addresses themselves (SocketAddress::parse) and come here for names.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::net {

class Resolution {
 public:
  using DoneFn = std::function<void(Result<SocketAddress>)>;

  // Starts resolving `target`. `done` runs later on the loop, or never if the Resolution is
  // destroyed first.
  static Result<std::unique_ptr<Resolution>> start(uv_loop_t* loop, const HostPort& target,
                                                   DoneFn done);
  ~Resolution();
  Resolution(const Resolution&) = delete;
  Resolution& operator=(const Resolution&) = delete;

 private:
  struct Request;
  Resolution() = default;
  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res);
  Request* request_ = nullptr;
};

}  // namespace lmesh::net
