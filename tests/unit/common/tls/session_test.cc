// tls::Session driven in memory: two sessions pass bytes to each other with no socket, so
// every handshake outcome can be checked exactly.
#include <catch2/catch.hpp>

#include "common/buffer/buffer.h"
#include "common/buffer/chunk_pool.h"
#include "common/tls/session.h"
#include "test_pki.h"

namespace lmesh::tls {
namespace {

using namespace std::chrono_literals;
using testing::identity;
using testing::TestPki;

std::shared_ptr<const Context> server_context(const TestPki& pki, const Credentials& creds,
                                              std::optional<TicketKey> ticket_key = {}) {
  ContextOptions o;
  o.role = Role::kServer;
  o.credentials = creds;
  o.trust_anchors = {pki.root.certificate};
  o.alpn = {"h2", "lmesh.io/opaque-v1"};
  o.ticket_key = ticket_key;
  auto ctx = Context::make(o);
  REQUIRE(ctx.has_value());
  return *ctx;
}

std::shared_ptr<const Context> client_context(const TestPki& pki, std::optional<Credentials> creds,
                                              std::vector<std::string> alpn = {"h2"}) {
  ContextOptions o;
  o.role = Role::kClient;
  o.credentials = std::move(creds);
  o.trust_anchors = {pki.root.certificate};
  o.alpn = std::move(alpn);
  auto ctx = Context::make(o);
  REQUIRE(ctx.has_value());
  return *ctx;
}

// Moves bytes between a client and a server session until neither has anything to say.
struct Pipe {
  buffer::ChunkPool pool{16 * 1024};
  std::unique_ptr<Session> client;
  std::unique_ptr<Session> server;
  buffer::Buffer to_server{pool};
  buffer::Buffer to_client{pool};
  std::string client_plain;
  std::string server_plain;
  std::optional<Error> client_error;
  std::optional<Error> server_error;

  void start() { REQUIRE(client->start(to_server).has_value()); }

  void pump() {
    for (int round = 0; round < 20 && (!to_server.empty() || !to_client.empty()); ++round) {
      deliver(to_server, *server, to_client, server_plain, server_error);
      deliver(to_client, *client, to_server, client_plain, client_error);
    }
  }

  void deliver(buffer::Buffer& in, Session& s, buffer::Buffer& reply, std::string& plain,
               std::optional<Error>& error) {
    if (in.empty() || error) {
      in.clear();
      return;
    }
    std::string bytes = in.to_string();
    in.clear();
    buffer::Buffer out(pool);
    auto ok = s.on_wire(bytes, out, reply);
    plain += out.to_string();
    if (!ok) error = ok.error();
  }

  void send(Session& s, std::string_view text, buffer::Buffer& wire) {
    buffer::Buffer b(pool);
    b.append(text);
    REQUIRE(s.seal(b, wire).has_value());
    CHECK(b.empty());
  }
};

TEST_CASE("mutual TLS 1.3 between two mesh identities", "[tls][session]") {
  TestPki pki;
  Credentials web = pki.leaf("default", "web");
  Credentials api = pki.leaf("default", "api");
  Pipe p;
  p.client = *Session::client(client_context(pki, web),
                              {identity("default", "api"), identity("default", "api"), {}});
  p.server =
      *Session::server(server_context(pki, api), {".serviceaccount.identity.lmesh.cluster.local"});
  p.start();
  p.pump();
  REQUIRE(!p.client_error);
  REQUIRE(!p.server_error);
  REQUIRE(p.client->established());
  REQUIRE(p.server->established());
  CHECK(p.client->version() == "TLSv1.3");
  CHECK(p.client->alpn() == "h2");
  CHECK(p.server->alpn() == "h2");
  CHECK(p.client->peer_identity() == identity("default", "api"));
  CHECK(p.server->peer_identity() == identity("default", "web"));
  CHECK(p.server->server_name() == identity("default", "api"));
  CHECK(!p.client->resumed());

  // Application data both ways, larger than one record.
  std::string big(100'000, 'x');
  p.send(*p.client, big, p.to_server);
  p.send(*p.server, "pong", p.to_client);
  p.pump();
  CHECK(p.server_plain == big);
  CHECK(p.client_plain == "pong");

  // close_notify ends the peer's plaintext stream.
  p.client->close_notify(p.to_server);
  p.pump();
  CHECK(p.server->peer_closed());
  CHECK(!p.server_error);
}

TEST_CASE("small writes are gathered into full records", "[tls][session]") {
  TestPki pki;
  Pipe p;
  p.client = *Session::client(client_context(pki, pki.leaf("default", "web")),
                              {"", identity("default", "api"), {}});
  p.server = *Session::server(server_context(pki, pki.leaf("default", "api")));
  p.start();
  p.pump();
  REQUIRE(p.client->established());
  // 1,000 nine-byte slices (HTTP/2 frame headers, say), then one large one.
  buffer::Buffer out(p.pool);
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    std::string piece = "frame" + std::to_string(1000 + i);
    buffer::Buffer one(p.pool);
    one.append(piece);
    out.append(std::move(one));
    expected += piece;
  }
  std::string big(50'000, 'b');
  out.append(big);
  expected += big;
  REQUIRE(out.slice_count() > 1000);  // the slices stay apart, as a codec's writes do
  buffer::Buffer wire(p.pool);
  REQUIRE(p.client->seal(out, wire).has_value());
  // One record per slice would add ~22 bytes each: ~22 kB of overhead instead of < 200 bytes.
  CHECK(wire.size() < expected.size() + 200);
  p.to_server.append(std::move(wire));
  p.pump();
  CHECK(p.server_plain == expected);
}

TEST_CASE("a server naming another identity fails with identity mismatch", "[tls][session]") {
  TestPki pki;
  Pipe p;
  p.client = *Session::client(client_context(pki, pki.leaf("default", "web")),
                              {"", identity("default", "api"), {}});
  p.server = *Session::server(server_context(pki, pki.leaf("default", "evil")));
  p.start();
  p.pump();
  REQUIRE(p.client_error);
  CHECK(p.client_error->message() == "tls identity mismatch");
  CHECK(p.client_error->code() == ErrorCode::kRefused);
  CHECK(!p.client->established());
}

TEST_CASE("certificates from another CA are refused both ways", "[tls][session]") {
  TestPki pki;
  TestPki other("other");
  SECTION("server from another CA") {
    Pipe p;
    p.client = *Session::client(client_context(pki, pki.leaf("default", "web")),
                                {"", identity("default", "api"), {}});
    p.server = *Session::server(server_context(other, other.leaf("default", "api")));
    p.start();
    p.pump();
    REQUIRE(p.client_error);
    CHECK(p.client_error->message() == "tls certificate untrusted");
  }
  SECTION("client from another CA") {
    Pipe p;
    p.client = *Session::client(client_context(pki, other.leaf("default", "web")),
                                {"", identity("default", "api"), {}});
    p.server = *Session::server(server_context(pki, pki.leaf("default", "api")));
    p.start();
    p.pump();
    REQUIRE(p.server_error);
    CHECK(p.server_error->message() == "tls certificate untrusted");
    CHECK(!p.server->established());
  }
}

TEST_CASE("an expired certificate is refused", "[tls][session]") {
  TestPki pki;
  Pipe p;
  p.client = *Session::client(client_context(pki, pki.leaf("default", "web")),
                              {"", identity("default", "api"), {}});
  p.server = *Session::server(server_context(pki, pki.leaf("default", "api", -3600s, -60s)));
  p.start();
  p.pump();
  REQUIRE(p.client_error);
  CHECK(p.client_error->message() == "tls certificate expired");
}

TEST_CASE("a client without a certificate is refused", "[tls][session]") {
  TestPki pki;
  Pipe p;
  p.client =
      *Session::client(client_context(pki, std::nullopt), {"", identity("default", "api"), {}});
  p.server = *Session::server(server_context(pki, pki.leaf("default", "api")));
  p.start();
  p.pump();
  REQUIRE(p.server_error);
  CHECK(p.server_error->message() == "tls peer certificate missing");
}

TEST_CASE("a ClientHello for another name is refused before the server answers", "[tls][session]") {
  TestPki pki;
  Pipe p;
  p.client = *Session::client(client_context(pki, pki.leaf("default", "web")),
                              {"example.com", std::nullopt, {}});
  p.server = *Session::server(server_context(pki, pki.leaf("default", "api")),
                              {".serviceaccount.identity.lmesh.cluster.local"});
  p.start();
  std::string hello = p.to_server.to_string();
  p.to_server.clear();
  buffer::Buffer plain(p.pool);
  buffer::Buffer reply(p.pool);
  auto ok = p.server->on_wire(hello, plain, reply);
  REQUIRE(!ok);
  CHECK(ok.error().message() == "tls server name not ours");
}

TEST_CASE("a second connection resumes with the first one's ticket", "[tls][session]") {
  TestPki pki;
  Credentials web = pki.leaf("default", "web");
  TicketKey key = random_ticket_key();
  auto client_ctx = client_context(pki, web);
  // Two server contexts with one ticket key: as after a certificate renewal.
  auto server_ctx_1 = server_context(pki, pki.leaf("default", "api"), key);
  auto server_ctx_2 = server_context(pki, pki.leaf("default", "api"), key);
  ClientSessionOptions to_api{"", identity("default", "api"), {}};

  Pipe first;
  first.client = *Session::client(client_ctx, to_api);
  first.server = *Session::server(server_ctx_1);
  first.start();
  first.pump();
  // TLS 1.3 tickets arrive after the handshake, read with the first application data.
  first.send(*first.server, "hi", first.to_client);
  first.pump();
  REQUIRE(first.client->established());
  ResumptionTicket ticket = first.client->resumption_ticket();
  REQUIRE(ticket != nullptr);

  Pipe second;
  to_api.resume = ticket;
  second.client = *Session::client(client_ctx, to_api);
  second.server = *Session::server(server_ctx_2);
  second.start();
  second.pump();
  REQUIRE(second.client->established());
  CHECK(second.client->resumed());
  CHECK(second.server->resumed());
  // The resumed session still knows who the peers are.
  CHECK(second.server->peer_identity() == identity("default", "web"));
}

TEST_CASE("garbage instead of a ClientHello fails the handshake", "[tls][session]") {
  TestPki pki;
  auto server = *Session::server(server_context(pki, pki.leaf("default", "api")));
  buffer::ChunkPool pool(16 * 1024);
  buffer::Buffer plain(pool);
  buffer::Buffer reply(pool);
  auto ok = server->on_wire(std::string("\x16\x03\x01\x00\x05hello", 10), plain, reply);
  REQUIRE(!ok);
  CHECK(ok.error().message() == "tls handshake failed");
}

}  // namespace
}  // namespace lmesh::tls
