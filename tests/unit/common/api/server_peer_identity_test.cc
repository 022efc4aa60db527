// api::Server TLS whose context comes from ServerOptions::tls_provider (a certificate that
// rotates, as the proxy's admin port has) and Request::peer_identity: the identity a client
// proved with a certificate the handshake verified, empty for plaintext and for TLS clients
// without one. One loop, real loopback sockets, both protocols; Worker::run() closes the loop
// and asserts nothing was left open.
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "../tls/test_pki.h"
#include "common/api/client.h"
#include "common/api/server.h"
#include "common/event/timer.h"
#include "common/tls/session.h"

namespace lmesh::api {
namespace {

using namespace std::chrono_literals;
using tls::testing::identity;
using tls::testing::TestPki;

// The admin port's shape: the server's own certificate, client certificates required and
// verified against the anchors, ALPN h2 and http/1.1.
std::shared_ptr<const tls::Context> server_context(const TestPki& pki, const std::string& sa,
                                                   bool require_client_certificate = true) {
  tls::ContextOptions o;
  o.role = tls::Role::kServer;
  o.credentials = pki.leaf("default", sa);
  o.trust_anchors = {pki.root.certificate};
  o.require_client_certificate = require_client_certificate;
  o.alpn = {"h2", "http/1.1"};
  auto context = tls::Context::make(o);
  REQUIRE(context.has_value());
  return *context;
}

std::shared_ptr<const tls::Context> client_context(const TestPki& pki, ClientProtocol protocol,
                                                   std::optional<tls::Credentials> credentials) {
  tls::ContextOptions o;
  o.role = tls::Role::kClient;
  o.credentials = std::move(credentials);
  o.trust_anchors = {pki.root.certificate};
  o.alpn = {protocol == ClientProtocol::kHttp2 ? "h2" : "http/1.1"};
  auto context = tls::Context::make(o);
  REQUIRE(context.has_value());
  return *context;
}

struct Seen {
  int requests = 0;
  std::string peer_identity;
};

// One request from a client with `options` to a server with `server_options`; the outcome.
Result<ClientResponse> ask(ServerOptions server_options, ClientOptions options, Seen* seen) {
  event::Worker w(0);
  auto server = std::make_unique<Server>(w, std::move(server_options));
  server->route("GET", "/who", [&](const Request& request, std::shared_ptr<Response> r) {
    ++seen->requests;
    seen->peer_identity = request.peer_identity;
    r->json(200, {{"peer_identity", request.peer_identity}});
  });
  auto bound = server->listen(*net::SocketAddress::parse("127.0.0.1:0"));
  REQUIRE(bound.has_value());
  options.connect_timeout = 2s;
  options.request_timeout = 2s;
  auto client = std::make_unique<Client>(w, *bound, options);
  std::optional<Result<ClientResponse>> result;
  std::unique_ptr<Call> call;
  std::unique_ptr<event::Timer> watchdog;
  auto finish = [&] {
    w.post([&] {
      call.reset();
      client.reset();
      watchdog.reset();  // an armed timer would keep the loop running
      server->close();
      w.stop();
    });
  };
  call = client->request("GET", "/who", "", [&](Result<ClientResponse> r) {
    result = std::move(r);
    finish();
  });
  watchdog = std::make_unique<event::Timer>(w.loop(), [&] {
    if (!result) result = fail(ErrorCode::kTimeout, "test watchdog");
    finish();
  });
  watchdog->arm(5s);
  w.run();
  REQUIRE(result.has_value());
  return std::move(*result);
}

ClientOptions tls_client(const TestPki& pki, ClientProtocol protocol,
                         std::optional<tls::Credentials> credentials, const std::string& server) {
  ClientOptions o;
  o.protocol = protocol;
  o.tls = client_context(pki, protocol, std::move(credentials));
  o.tls_server_name = identity("default", server);
  return o;
}

TEST_CASE("a handler sees the identity a client certificate proved", "[api][tls]") {
  const ClientProtocol protocol = GENERATE(ClientProtocol::kHttp2, ClientProtocol::kHttp1);
  CAPTURE(protocol == ClientProtocol::kHttp2 ? "h2" : "HTTP/1.1");
  TestPki pki;
  ServerOptions so;
  auto context = server_context(pki, "api");
  so.tls_provider = [context] { return context; };
  Seen seen;
  auto r = ask(so, tls_client(pki, protocol, pki.leaf("lmesh-system", "tap"), "api"), &seen);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(seen.peer_identity == identity("lmesh-system", "tap"));
}

TEST_CASE("plaintext clients are still served, with no identity", "[api][tls]") {
  const ClientProtocol protocol = GENERATE(ClientProtocol::kHttp2, ClientProtocol::kHttp1);
  TestPki pki;
  ServerOptions so;
  auto context = server_context(pki, "api");
  so.tls_provider = [context] { return context; };
  ClientOptions o;
  o.protocol = protocol;
  Seen seen;
  auto r = ask(so, o, &seen);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(seen.requests == 1);
  CHECK(seen.peer_identity.empty());
}

TEST_CASE("a TLS client without a certificate proves nothing", "[api][tls]") {
  TestPki pki;
  ServerOptions so;
  SECTION("a server that requires one refuses the handshake") {
    so.tls = server_context(pki, "api");
    Seen seen;
    auto r = ask(so, tls_client(pki, ClientProtocol::kHttp2, std::nullopt, "api"), &seen);
    CHECK_FALSE(r.has_value());
    CHECK(seen.requests == 0);
  }
  SECTION("a server that does not require one serves it with no identity") {
    so.tls = server_context(pki, "api", /*require_client_certificate=*/false);
    Seen seen;
    auto r = ask(so, tls_client(pki, ClientProtocol::kHttp2, std::nullopt, "api"), &seen);
    REQUIRE(r.has_value());
    CHECK(seen.requests == 1);
    CHECK(seen.peer_identity.empty());
  }
}

TEST_CASE("a client certificate from another CA is refused", "[api][tls]") {
  TestPki pki;
  TestPki other("other");
  ServerOptions so;
  so.tls = server_context(pki, "api");
  ClientOptions o;
  o.tls = client_context(pki, ClientProtocol::kHttp2, other.leaf("lmesh-system", "tap"));
  o.tls_server_name = identity("default", "api");
  Seen seen;
  auto r = ask(so, o, &seen);
  CHECK_FALSE(r.has_value());
  CHECK(seen.requests == 0);
}

TEST_CASE("the provider is asked at each TLS connection: a rotated certificate serves the next",
          "[api][tls]") {
  TestPki pki;
  std::shared_ptr<const tls::Context> current;  // null: no certificate yet
  int asked = 0;
  ServerOptions so;
  so.tls_provider = [&] {
    ++asked;
    return current;
  };
  Seen seen;
  auto tap = pki.leaf("lmesh-system", "tap");
  // No certificate yet: the ClientHello is not TLS the server can answer.
  CHECK_FALSE(ask(so, tls_client(pki, ClientProtocol::kHttp2, tap, "api"), &seen).has_value());
  CHECK(seen.requests == 0);
  current = server_context(pki, "api");
  CHECK(ask(so, tls_client(pki, ClientProtocol::kHttp2, tap, "api"), &seen).has_value());
  // The server's certificate now names someone else: a client expecting "api" refuses it,
  // one expecting the new name gets through.
  current = server_context(pki, "api-renamed");
  CHECK_FALSE(ask(so, tls_client(pki, ClientProtocol::kHttp2, tap, "api"), &seen).has_value());
  CHECK(ask(so, tls_client(pki, ClientProtocol::kHttp1, tap, "api-renamed"), &seen).has_value());
  CHECK(seen.requests == 2);
  CHECK(asked == 4);
  // Plaintext never asks.
  ClientOptions plain;
  CHECK(ask(so, plain, &seen).has_value());
  CHECK(asked == 4);
}

TEST_CASE("tls::peer_identity is empty without a TLS layer", "[api][tls]") {
  CHECK_FALSE(tls::peer_identity(nullptr).has_value());
}

}  // namespace
}  // namespace lmesh::api
