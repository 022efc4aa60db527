#include "cli/up/readiness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "cli/host/host_network.h"

namespace lmesh::up {

bool tcp_port_open(const std::string& netns, const std::string& ip, uint16_t port, int timeout_ms) {
  int fd = -1;
  if (netns.empty()) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  } else {
    auto made = host::socket_in_netns(netns);
    if (!made) return false;
    fd = *made;
  }
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  bool open = false;
  if (::inet_pton(AF_INET, netns.empty() ? ip.c_str() : "127.0.0.1", &addr.sin_addr) == 1) {
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (rc == 0) {
      open = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, timeout_ms) == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        open = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
      }
    }
  }
  ::close(fd);
  return open;
}

ReadyCheck::ReadyCheck(event::Worker& worker, const std::string& addr) {
  auto server = net::SocketAddress::parse(addr);
  if (!server) return;
  api::ClientOptions options;
  options.protocol = api::ClientProtocol::kHttp1;
  options.connect_timeout = std::chrono::milliseconds(500);
  options.request_timeout = std::chrono::milliseconds(1000);
  client_ = std::make_unique<api::Client>(worker, *server, options);
}

void ReadyCheck::check(std::function<void(bool ready, std::string why)> done) {
  if (call_ != nullptr) return;
  if (client_ == nullptr) {
    done(false, "not an IP:port address");
    return;
  }
  call_ = client_->request("GET", "/ready", "",
                           [this, done = std::move(done)](Result<api::ClientResponse> response) {
                             auto call = std::move(call_);  // freed after this callback returns
                             if (!response) {
                               done(false, response.error().describe());
                             } else if (response->status != 200) {
                               done(false, "/ready answered " + std::to_string(response->status));
                             } else {
                               done(true, "");
                             }
                           });
}

}  // namespace lmesh::up
