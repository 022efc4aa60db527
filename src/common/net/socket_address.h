// An IPv4 or IPv6 socket address, parsed from "1.2.3.4:80" or "[::1]:80".
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace lmesh::net {

class SocketAddress {
 public:
  SocketAddress() = default;
  static SocketAddress from_sockaddr(const sockaddr* sa);
  // Numeric "ip:port" only; names are resolved by HostPort::resolve().
  static Result<SocketAddress> parse(std::string_view text);
  static SocketAddress loopback_v4(uint16_t port);

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const;
  int family() const { return storage_.ss_family; }
  bool valid() const { return storage_.ss_family == AF_INET || storage_.ss_family == AF_INET6; }
  uint16_t port() const;
  void set_port(uint16_t port);
  bool is_loopback() const;
  bool is_unspecified() const;  // 0.0.0.0 or ::
  std::string ip() const;
  std::string to_string() const;  // "1.2.3.4:80", "[::1]:80"

  bool operator==(const SocketAddress& other) const;
  size_t hash() const;

 private:
  sockaddr_storage storage_{};
};

// "host:port" as written in configuration, where host may be a name.
struct HostPort {
  std::string host;
  uint16_t port = 0;

  static Result<HostPort> parse(std::string_view text);
  // Blocking name resolution: for start-up configuration only, never on a worker loop.
  Result<SocketAddress> resolve() const;
  std::string to_string() const;
};

}  // namespace lmesh::net

template <>
struct std::hash<lmesh::net::SocketAddress> {
  size_t operator()(const lmesh::net::SocketAddress& a) const { return a.hash(); }
};
