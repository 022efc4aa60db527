#include "common/net/listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace lmesh::net {

Listener::Listener(uv_loop_t* loop, AcceptFn on_accept)
    : loop_(loop), on_accept_(std::move(on_accept)) {}

Result<void> Listener::listen(const SocketAddress& address, bool reuse_port, int backlog) {
  // libuv 1.44 has no UV_TCP_REUSEPORT: make the socket ourselves and hand it to uv_tcp_open.
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(Error::from_uv(uv_translate_sys_error(errno), "socket"));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    int err = errno;
    ::close(fd);
    return fail(Error::from_uv(uv_translate_sys_error(err), "setsockopt(SO_REUSEPORT)"));
  }
  if (::bind(fd, address.sockaddr_ptr(), address.length()) != 0) {
    int err = errno;
    ::close(fd);
    return fail(Error::from_uv(uv_translate_sys_error(err), "bind " + address.to_string()));
  }
  tcp_.init(uv_tcp_init, loop_);
  tcp_.get()->data = this;
  if (int rc = uv_tcp_open(tcp_.get(), fd); rc != 0) {
    ::close(fd);
    tcp_.close();
    return fail(Error::from_uv(rc, "uv_tcp_open"));
  }
  if (int rc = uv_listen(tcp_.stream(), backlog, &Listener::on_connection); rc != 0) {
    tcp_.close();  // closes fd too
    return fail(Error::from_uv(rc, "listen on " + address.to_string()));
  }
  return {};
}

SocketAddress Listener::local_address() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (!tcp_.open() || uv_tcp_getsockname(tcp_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return {};
  }
  return SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

void Listener::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<Listener*>(server->data);
  // status < 0 (e.g. EMFILE) leaves the connection in the backlog; libuv retries later.
  if (self == nullptr || status < 0) return;
  self->on_accept_(server);
}

}  // namespace lmesh::net
