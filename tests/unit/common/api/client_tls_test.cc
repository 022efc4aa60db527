// api::Client and api::Server over TLS (ClientOptions::tls, ServerOptions::tls) on one loop:
// both protocols inside TLS, plaintext still served beside it, and a server that names someone
// else refused before any request leaves.
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>

#include <catch2/catch.hpp>

#include "../tls/test_pki.h"
#include "common/api/client.h"
#include "common/api/server.h"
#include "common/event/timer.h"

namespace lmesh::api {
namespace {

using namespace std::chrono_literals;
using tls::testing::identity;
using tls::testing::TestPki;

std::shared_ptr<const tls::Context> server_context(const TestPki& pki) {
  tls::ContextOptions o;
  o.role = tls::Role::kServer;
  o.credentials = pki.leaf("lmesh-system", "identity");
  o.require_client_certificate = false;
  o.alpn = {"h2", "http/1.1"};
  return *tls::Context::make(o);
}

std::shared_ptr<const tls::Context> client_context(const TestPki& pki, ClientProtocol protocol) {
  tls::ContextOptions o;
  o.role = tls::Role::kClient;
  o.trust_anchors = {pki.root.certificate};
  o.alpn = {protocol == ClientProtocol::kHttp2 ? "h2" : "http/1.1"};
  return *tls::Context::make(o);
}

// One request from a client with `options` to a TLS-capable server; the outcome.
Result<ClientResponse> ask(const TestPki& pki, ClientOptions options, int* requests_seen) {
  event::Worker w(0);
  ServerOptions so;
  so.tls = server_context(pki);
  auto server = std::make_unique<Server>(w, so);
  server->route("GET", "/v1/hello", [&](const Request&, std::shared_ptr<Response> r) {
    ++*requests_seen;
    r->json(200, {{"hello", "tls"}});
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
  call = client->request("GET", "/v1/hello", "", [&](Result<ClientResponse> r) {
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
  if (!*result) UNSCOPED_INFO("request failed: " << result->error().describe());
  return std::move(*result);
}

TEST_CASE("a client reaches a TLS server that proves the expected name", "[api][tls]") {
  const ClientProtocol protocol = GENERATE(ClientProtocol::kHttp2, ClientProtocol::kHttp1);
  CAPTURE(protocol == ClientProtocol::kHttp2 ? "h2" : "HTTP/1.1");
  TestPki pki;
  ClientOptions o;
  o.protocol = protocol;
  o.tls = client_context(pki, protocol);
  o.tls_server_name = identity("lmesh-system", "identity");
  int seen = 0;
  auto r = ask(pki, o, &seen);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(nlohmann::json::parse(r->body) == nlohmann::json{{"hello", "tls"}});
  CHECK(seen == 1);
}

TEST_CASE("a TLS-capable server still answers plaintext clients", "[api][tls]") {
  const ClientProtocol protocol = GENERATE(ClientProtocol::kHttp2, ClientProtocol::kHttp1);
  TestPki pki;
  ClientOptions o;
  o.protocol = protocol;
  int seen = 0;
  auto r = ask(pki, o, &seen);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(seen == 1);
}

TEST_CASE("a server that names someone else, or is from another CA, gets no request",
          "[api][tls]") {
  TestPki pki;
  TestPki other("other");
  ClientOptions o;
  o.tls_server_name = identity("lmesh-system", "identity");
  SECTION("another name") {
    o.tls = client_context(pki, ClientProtocol::kHttp2);
    o.tls_server_name = identity("lmesh-system", "impostor");
  }
  SECTION("another CA") {
    o.tls = client_context(other, ClientProtocol::kHttp2);
  }
  int seen = 0;
  auto r = ask(pki, o, &seen);
  REQUIRE(!r.has_value());
  CHECK(seen == 0);
}

}  // namespace
}  // namespace lmesh::api
