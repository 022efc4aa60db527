#include "common/net/socket_address.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <charconv>
#include <cstring>

namespace lmesh::net {
namespace {

Result<uint16_t> parse_port(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return fail(ErrorCode::kInvalidArgument,
                "invalid port in '" + std::string(whole) + "' (expected host:port)");
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

SocketAddress SocketAddress::from_sockaddr(const sockaddr* sa) {
  SocketAddress a;
  if (sa->sa_family == AF_INET) {
    std::memcpy(&a.storage_, sa, sizeof(sockaddr_in));
  } else if (sa->sa_family == AF_INET6) {
    std::memcpy(&a.storage_, sa, sizeof(sockaddr_in6));
  }
  return a;
}

Result<SocketAddress> SocketAddress::parse(std::string_view text) {
  auto hp = HostPort::parse(text);
  if (!hp) return fail(hp.error());
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (inet_pton(AF_INET, hp->host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(hp->port);
  } else if (inet_pton(AF_INET6, hp->host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(hp->port);
  } else {
    return fail(ErrorCode::kInvalidArgument,
                "'" + std::string(text) + "' is not a numeric ip:port address");
  }
  return a;
}

SocketAddress SocketAddress::loopback_v4(uint16_t port) {
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  v4->sin_family = AF_INET;
  v4->sin_port = htons(port);
  v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

socklen_t SocketAddress::length() const {
  return storage_.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

uint16_t SocketAddress::port() const {
  if (storage_.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  if (storage_.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

void SocketAddress::set_port(uint16_t port) {
  if (storage_.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  } else if (storage_.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
  }
}

bool SocketAddress::is_loopback() const {
  if (storage_.ss_family == AF_INET) {
    uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr);
    return (ip >> 24) == 127;
  }
  if (storage_.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&a6);
  }
  return false;
}

bool SocketAddress::is_unspecified() const {
  if (storage_.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr == INADDR_ANY;
  }
  if (storage_.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr;
    return IN6_IS_ADDR_UNSPECIFIED(&a6);
  }
  return false;
}

std::string SocketAddress::ip() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (storage_.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
  } else if (storage_.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
              sizeof buf);
  }
  return buf;
}

std::string SocketAddress::to_string() const {
  if (storage_.ss_family == AF_INET6) return "[" + ip() + "]:" + std::to_string(port());
  if (storage_.ss_family == AF_INET) return ip() + ":" + std::to_string(port());
  return "<unset>";
}

bool SocketAddress::operator==(const SocketAddress& other) const {
  if (storage_.ss_family != other.storage_.ss_family) return false;
  if (storage_.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage_);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&other.storage_);
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  if (storage_.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
    const auto* b = reinterpret_cast<const sockaddr_in6*>(&other.storage_);
    return a->sin6_port == b->sin6_port &&
           std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return true;
}

size_t SocketAddress::hash() const {
  std::string_view bytes;
  if (storage_.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage_);
    uint64_t key = (uint64_t{a->sin_addr.s_addr} << 16) | a->sin_port;
    return std::hash<uint64_t>()(key);
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
  bytes = std::string_view(reinterpret_cast<const char*>(&a->sin6_addr), sizeof(in6_addr));
  return std::hash<std::string_view>()(bytes) ^ a->sin6_port;
}

Result<HostPort> HostPort::parse(std::string_view text) {
  HostPort hp;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(ErrorCode::kInvalidArgument,
                  "invalid address '" + std::string(text) + "' (expected [ipv6]:port)");
    }
    hp.host = std::string(text.substr(1, close - 1));
    if (hp.host.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  "invalid address '" + std::string(text) + "' (empty host)");
    }
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || text.find(':') != colon) {
      return fail(ErrorCode::kInvalidArgument,
                  "invalid address '" + std::string(text) + "' (expected host:port)");
    }
    hp.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  auto p = parse_port(port, text);
  if (!p) return fail(p.error());
  hp.port = *p;
  return hp;
}

Result<SocketAddress> HostPort::resolve() const {
  if (auto numeric = SocketAddress::parse(to_string())) return numeric;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    return fail(ErrorCode::kNotFound, "cannot resolve '" + host + "': " + gai_strerror(rc));
  }
  SocketAddress a = SocketAddress::from_sockaddr(res->ai_addr);
  freeaddrinfo(res);
  a.set_port(port);
  return a;
}

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

}  // namespace lmesh::net
