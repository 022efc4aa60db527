// Routing (src/proxy/routing.h): where a connection goes from the listener, the original
// destination and the configuration; where an HTTP/1 request goes from its target or Host.
#include "proxy/routing.h"

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "../common/net/loop_helpers.h"
#include "proxy/config.h"

namespace lmesh::proxy {
namespace {

using namespace std::string_view_literals;

http::RequestHead request(std::string target, const char* host = nullptr) {
  http::RequestHead r;
  r.method = "GET";
  r.target = std::move(target);
  if (host != nullptr) r.headers.add("Host", host);
  return r;
}

TEST_CASE("request_authority: absolute-form first, then Host", "[proxy][routing]") {
  CHECK(request_authority(request("http://example.com:8080/path?q=1")) == "example.com:8080");
  CHECK(request_authority(request("http://example.com/")) == "example.com");
  CHECK(request_authority(request("http://example.com")) == "example.com");
  CHECK(request_authority(request("http://example.com?q=1")) == "example.com");
  CHECK(request_authority(request("http://example.com#frag")) == "example.com");
  CHECK(request_authority(request("HTTP://Example.COM/x")) == "Example.COM");  // scheme: any case
  CHECK(request_authority(request("http://[::1]:8080/x")) == "[::1]:8080");
  CHECK(request_authority(request("http://user:pw@host:81/")) == "user:pw@host:81");
  // The absolute-form target wins over Host (RFC 9112 §3.2.2).
  CHECK(request_authority(request("http://target.example/", "host.example")) == "target.example");

  CHECK(request_authority(request("/path", "host.example:9000")) == "host.example:9000");
  CHECK(request_authority(request("/path", "  spaced.example  ")) == "spaced.example");
  CHECK(request_authority(request("*", "h")) == "h");
  CHECK(request_authority(request("example.com:443", "example.com:443")) == "example.com:443");

  CHECK(!request_authority(request("/path")).has_value());
  CHECK(!request_authority(request("/path", "")).has_value());
  // Only plain http:// is absolute-form here; anything else falls back to Host.
  CHECK(!request_authority(request("https://secure.example/")).has_value());
  CHECK(request_authority(request("https://secure.example/", "h")) == "h");
  CHECK(!request_authority(request("http://")).has_value());
}

TEST_CASE("origin_form strips scheme and authority from absolute-form", "[proxy][routing]") {
  CHECK(origin_form("/path?q=1") == "/path?q=1");
  CHECK(origin_form("*") == "*");
  CHECK(origin_form("http://example.com/path?q=1") == "/path?q=1");
  CHECK(origin_form("http://example.com:8080/a/b") == "/a/b");
  CHECK(origin_form("HTTP://example.com/x") == "/x");
  CHECK(origin_form("http://example.com") == "/");
  CHECK(origin_form("http://[::1]:80/v6") == "/v6");
}

// Regression: found by this suite in session 1 and fixed in src/.
TEST_CASE("origin_form of an absolute-form target with a query and no path", "[proxy][routing]") {
  CHECK(origin_form("http://example.com?q=1") == "/?q=1");
}

TEST_CASE("parse_authority: host, optional port, userinfo dropped", "[proxy][routing]") {
  struct Good {
    std::string_view authority;
    std::string host;
    uint16_t port;
  };
  const Good good[] = {
      {"example.com", "example.com", 80},
      {"example.com:8080", "example.com", 8080},
      {"10.0.0.1:443", "10.0.0.1", 443},
      {"[::1]:8080", "::1", 8080},
      {"[::1]", "::1", 80},
      {"[2001:db8::1]:65535", "2001:db8::1", 65535},
      {"user@host", "host", 80},
      {"user:secret@host:81", "host", 81},
      {"a@b@host:82", "host", 82},
      {"h:1", "h", 1},
  };
  for (const Good& g : good) {
    INFO(std::string(g.authority));
    auto hp = parse_authority(g.authority);
    REQUIRE(hp.has_value());
    CHECK(hp->host == g.host);
    CHECK(hp->port == g.port);
  }
}

TEST_CASE("parse_authority rejects bad ports and empty hosts", "[proxy][routing]") {
  for (std::string_view bad :
       {""sv, "host:"sv, "host:0"sv, "host:65536"sv, "host:abc"sv, "host:80x"sv, "host:-1"sv,
        ":80"sv, "user@"sv, "@"sv, "[::1"sv, "[::1]:"sv, "[::1]:0"sv, "[]"sv, "[]:80"sv}) {
    INFO(std::string(bad));
    CHECK(!parse_authority(bad).has_value());
  }
}

// Regression: found by this suite in session 1 and fixed in src/.
TEST_CASE("parse_authority rejects junk after an IPv6 literal", "[proxy][routing]") {
  CHECK(!parse_authority("[::1]junk").has_value());
  CHECK(!parse_authority("[::1]junk:80").has_value());
}

// target_for() needs an accepted connection: a real one over loopback, not redirected.
struct Accepted {
  explicit Accepted(event::Worker& w)
      : listener(w.loop(),
                 [this, &w](uv_stream_t* s) {
                   server = std::make_unique<net::TcpConnection>(w, server_h);
                   CHECK(server->accept(s).has_value());
                 }),
        client(w, client_h) {
    REQUIRE(listener.listen(*net::SocketAddress::parse("127.0.0.1:0"), false).has_value());
    REQUIRE(client.connect(listener.local_address()).has_value());
    REQUIRE(net::testing::run_until(w, [this] { return client_h.connected && server; }));
  }
  void close(event::Worker& w) {
    client.close(net::CloseMode::kNoFlush);
    server->close(net::CloseMode::kNoFlush);
    listener.close();
    REQUIRE(net::testing::run_until(
        w, [this] { return client_h.closed == 1 && server_h.closed == 1; }));
  }
  net::testing::Recorder server_h;
  net::testing::Recorder client_h;
  net::Listener listener;
  std::unique_ptr<net::TcpConnection> server;
  net::TcpConnection client;
};

TEST_CASE("target_for without iptables: the configuration decides", "[proxy][routing]") {
  event::Worker w(0);
  {
    Accepted a(w);
    ProxyConfig config;
    config.opaque_ports = {25};

    SECTION("outbound with no target goes nowhere") {
      ConnectionTarget t = target_for(Direction::kOutbound, config, *a.server);
      CHECK(!t.original_destination);  // not redirected (or SO_ORIGINAL_DST named the listener)
      CHECK(!t.destination);
      CHECK(!t.port());
    }
    SECTION("outbound with --outbound-target goes there") {
      config.outbound_target = *net::SocketAddress::parse("10.1.1.1:25");
      ConnectionTarget t = target_for(Direction::kOutbound, config, *a.server);
      REQUIRE(t.destination);
      CHECK(t.destination->to_string() == "10.1.1.1:25");
      CHECK(t.port() == 25);
      CHECK(config.is_opaque_port(*t.port()));
    }
    SECTION("inbound with --inbound-forward goes there") {
      config.inbound_forward = *net::SocketAddress::parse("127.0.0.1:9090");
      config.outbound_target = *net::SocketAddress::parse("10.1.1.1:25");  // not for inbound
      ConnectionTarget t = target_for(Direction::kInbound, config, *a.server);
      REQUIRE(t.destination);
      CHECK(t.destination->to_string() == "127.0.0.1:9090");
    }
    SECTION("inbound without a forward and without a redirect goes nowhere") {
      ConnectionTarget t = target_for(Direction::kInbound, config, *a.server);
      CHECK(!t.destination);
    }
    a.close(w);
  }
  net::testing::stop_and_close(w);
}

TEST_CASE("ConnectionTarget::port prefers the original destination", "[proxy][routing]") {
  ConnectionTarget t;
  CHECK(!t.port());
  t.destination = *net::SocketAddress::parse("10.0.0.1:80");
  CHECK(t.port() == 80);
  t.original_destination = *net::SocketAddress::parse("10.0.0.2:3306");
  CHECK(t.port() == 3306);
}

}  // namespace
}  // namespace lmesh::proxy
