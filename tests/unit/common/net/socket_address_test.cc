// SocketAddress and HostPort (src/common/net/socket_address.h): numeric addresses as written
// in configuration, printed back the same way, compared and hashed as map keys.
#include "common/net/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <unordered_set>

#include <catch2/catch.hpp>

namespace lmesh::net {
namespace {

SocketAddress addr(const char* text) {
  auto a = SocketAddress::parse(text);
  INFO(text);
  REQUIRE(a.has_value());
  return *a;
}

TEST_CASE("SocketAddress parses IPv4 ip:port", "[net][address]") {
  SocketAddress a = addr("10.1.2.3:8080");
  CHECK(a.valid());
  CHECK(a.family() == AF_INET);
  CHECK(a.port() == 8080);
  CHECK(a.ip() == "10.1.2.3");
  CHECK(a.to_string() == "10.1.2.3:8080");
  CHECK(a.length() == sizeof(sockaddr_in));
  const auto* sin = reinterpret_cast<const sockaddr_in*>(a.sockaddr_ptr());
  CHECK(ntohs(sin->sin_port) == 8080);
  CHECK(ntohl(sin->sin_addr.s_addr) == 0x0A010203u);
}

TEST_CASE("SocketAddress parses bracketed IPv6 [ip]:port", "[net][address]") {
  SocketAddress a = addr("[::1]:80");
  CHECK(a.valid());
  CHECK(a.family() == AF_INET6);
  CHECK(a.port() == 80);
  CHECK(a.ip() == "::1");
  CHECK(a.to_string() == "[::1]:80");
  CHECK(a.length() == sizeof(sockaddr_in6));

  CHECK(addr("[2001:db8::1]:443").to_string() == "[2001:db8::1]:443");
  // Printed in the canonical (compressed, lower-case) form.
  CHECK(addr("[2001:0DB8:0:0:0:0:0:1]:1").to_string() == "[2001:db8::1]:1");
  CHECK(addr("[::ffff:10.0.0.1]:5").family() == AF_INET6);
}

TEST_CASE("SocketAddress::to_string round-trips through parse", "[net][address]") {
  for (const char* text : {"127.0.0.1:4140", "0.0.0.0:0", "255.255.255.255:65535", "[::]:4143",
                           "[fe80::1]:22", "[::ffff:10.0.0.1]:5"}) {
    INFO(text);
    SocketAddress a = addr(text);
    CHECK(a.to_string() == text);
    CHECK(addr(a.to_string().c_str()) == a);
  }
}

TEST_CASE("SocketAddress rejects names and malformed input", "[net][address]") {
  for (const char* bad :
       {"", "localhost:80", "1.2.3:80", "1.2.3.4.5:80", "256.1.1.1:80", "1.2.3.4",
        "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:8o", "::1:80", "[::1]", "[::1]80",
        "[::1:80", "[]:80", "[zz::1]:80", ":80", " 1.2.3.4:80", "1.2.3.4 :80"}) {
    INFO("'" << bad << "'");
    auto a = SocketAddress::parse(bad);
    REQUIRE(!a);
    CHECK(a.error().code() == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("a default SocketAddress is unset", "[net][address]") {
  SocketAddress a;
  CHECK(!a.valid());
  CHECK(a.port() == 0);
  CHECK(a.ip().empty());
  CHECK(a.to_string() == "<unset>");
  CHECK(!a.is_loopback());
  CHECK(!a.is_unspecified());
  CHECK(a == SocketAddress());
  a.set_port(80);  // no family: nothing to set
  CHECK(a.port() == 0);
}

TEST_CASE("SocketAddress::loopback_v4 and set_port", "[net][address]") {
  SocketAddress a = SocketAddress::loopback_v4(4140);
  CHECK(a.to_string() == "127.0.0.1:4140");
  a.set_port(1);
  CHECK(a.to_string() == "127.0.0.1:1");

  SocketAddress b = addr("[::1]:80");
  b.set_port(8080);
  CHECK(b.to_string() == "[::1]:8080");
}

TEST_CASE("SocketAddress::is_loopback and is_unspecified", "[net][address]") {
  CHECK(addr("127.0.0.1:1").is_loopback());
  CHECK(addr("127.255.0.9:1").is_loopback());  // all of 127/8
  CHECK(addr("[::1]:1").is_loopback());
  CHECK(!addr("128.0.0.1:1").is_loopback());
  CHECK(!addr("10.0.0.1:1").is_loopback());
  CHECK(!addr("[::2]:1").is_loopback());
  CHECK(!addr("0.0.0.0:1").is_loopback());

  CHECK(addr("0.0.0.0:1").is_unspecified());
  CHECK(addr("[::]:1").is_unspecified());
  CHECK(!addr("127.0.0.1:1").is_unspecified());
  CHECK(!addr("[::1]:1").is_unspecified());
}

TEST_CASE("SocketAddress equality compares family, ip and port", "[net][address]") {
  CHECK(addr("10.0.0.1:80") == addr("10.0.0.1:80"));
  CHECK(!(addr("10.0.0.1:80") == addr("10.0.0.1:81")));
  CHECK(!(addr("10.0.0.1:80") == addr("10.0.0.2:80")));
  CHECK(addr("[::1]:80") == addr("[0:0:0:0:0:0:0:1]:80"));
  CHECK(!(addr("[::1]:80") == addr("[::1]:81")));
  CHECK(!(addr("[::1]:80") == addr("[::2]:80")));
  // An IPv4 address and its IPv4-mapped IPv6 form are different socket addresses.
  CHECK(!(addr("10.0.0.1:80") == addr("[::ffff:10.0.0.1]:80")));
  CHECK(!(addr("0.0.0.0:0") == SocketAddress()));
}

TEST_CASE("SocketAddress hashes equal addresses alike and works as a set key", "[net][address]") {
  std::hash<SocketAddress> h;
  CHECK(h(addr("10.0.0.1:80")) == h(addr("10.0.0.1:80")));
  CHECK(h(addr("[::1]:80")) == h(addr("[0::1]:80")));

  std::unordered_set<SocketAddress> set;
  for (const char* text : {"10.0.0.1:80", "10.0.0.1:81", "10.0.0.2:80", "[::1]:80", "[::1]:81",
                           "10.0.0.1:80", "[::1]:80"}) {
    set.insert(addr(text));
  }
  CHECK(set.size() == 5);
  CHECK(set.count(addr("10.0.0.2:80")) == 1);
  CHECK(set.count(addr("10.0.0.3:80")) == 0);
}

TEST_CASE("SocketAddress::from_sockaddr copies IPv4 and IPv6 and ignores others",
          "[net][address]") {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(99);
  inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr);
  CHECK(SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&v4)).to_string() ==
        "192.0.2.7:99");

  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(100);
  inet_pton(AF_INET6, "2001:db8::7", &v6.sin6_addr);
  CHECK(SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&v6)).to_string() ==
        "[2001:db8::7]:100");

  sockaddr unix_like{};
  unix_like.sa_family = AF_UNIX;
  CHECK(!SocketAddress::from_sockaddr(&unix_like).valid());
}

TEST_CASE("HostPort::parse splits host and port", "[net][hostport]") {
  auto hp = HostPort::parse("host:80");
  REQUIRE(hp);
  CHECK(hp->host == "host");
  CHECK(hp->port == 80);
  CHECK(hp->to_string() == "host:80");

  auto v6 = HostPort::parse("[::1]:80");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 80);
  CHECK(v6->to_string() == "[::1]:80");

  auto ip = HostPort::parse("10.0.0.1:0");
  REQUIRE(ip);
  CHECK(ip->host == "10.0.0.1");
  CHECK(ip->port == 0);

  auto max = HostPort::parse("svc.ns.svc.cluster.local:65535");
  REQUIRE(max);
  CHECK(max->host == "svc.ns.svc.cluster.local");
  CHECK(max->port == 65535);
}

TEST_CASE("HostPort::parse rejects bad ports and missing parts", "[net][hostport]") {
  for (const char* bad :
       {"host", "host:", ":80", "host:65536", "host:99999999999", "host:-1", "host:+80", "host:80x",
        "host:8 0", "a:b:80", "::1:80", "[::1]", "[::1]:", "[::1]80", "[::1:80", "", ":"}) {
    INFO("'" << bad << "'");
    auto hp = HostPort::parse(bad);
    REQUIRE(!hp);
    CHECK(hp.error().code() == ErrorCode::kInvalidArgument);
    // The message quotes what was given.
    CHECK_THAT(hp.error().message(), Catch::Contains(std::string("'") + bad + "'"));
  }
}

TEST_CASE("HostPort::resolve turns numeric hosts into addresses", "[net][hostport]") {
  auto a = HostPort{"127.0.0.1", 4140}.resolve();
  REQUIRE(a);
  CHECK(a->to_string() == "127.0.0.1:4140");

  auto b = HostPort{"::1", 4141}.resolve();
  REQUIRE(b);
  CHECK(b->to_string() == "[::1]:4141");

  // "localhost" comes from /etc/hosts, so this needs no DNS.
  auto c = HostPort{"localhost", 8080}.resolve();
  REQUIRE(c);
  CHECK(c->is_loopback());
  CHECK(c->port() == 8080);

  // An empty name fails inside getaddrinfo() without asking DNS, so the test stays hermetic.
  auto missing = HostPort{"", 80}.resolve();
  REQUIRE(!missing);
  CHECK(missing.error().code() == ErrorCode::kNotFound);
  CHECK_THAT(missing.error().message(), Catch::StartsWith("cannot resolve ''"));
}

// Regression: found by this suite in session 1 and fixed in src/.
TEST_CASE("HostPort::parse rejects empty brackets", "[net][hostport]") {
  auto hp = HostPort::parse("[]:80");
  CHECK(!hp.has_value());
}

}  // namespace
}  // namespace lmesh::net
