// A listening TCP socket on one worker loop. With reuse_port, every worker binds its own
// socket to the same address (SO_REUSEPORT) and the kernel spreads new connections across
// them, so accepting takes no lock and no worker hands connections to another.
#pragma once

#include <uv.h>

#include <functional>

#include "common/event/uv_handle.h"
#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::net {

class Listener {
 public:
  // Called when a connection is waiting; the callee accepts it with TcpConnection::accept().
  using AcceptFn = std::function<void(uv_stream_t* server)>;

  Listener(uv_loop_t* loop, AcceptFn on_accept);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  Result<void> listen(const SocketAddress& address, bool reuse_port, int backlog = 1024);
  // The bound address: tells the real port after binding port 0.
  SocketAddress local_address() const;
  void close() { tcp_.close(); }
  bool open() const { return tcp_.open() && tcp_.initialized(); }

 private:
  static void on_connection(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  AcceptFn on_accept_;
  event::UvHandle<uv_tcp_t> tcp_;
};

}  // namespace lmesh::net
