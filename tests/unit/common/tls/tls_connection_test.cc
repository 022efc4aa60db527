// TcpConnection with a tls::Session as its transport layer, over real loopback sockets:
// what codecs see is plaintext, the handshake gates on_connected(), failures reach on_error,
// and close_notify ends the peer's stream.
#include <catch2/catch.hpp>

#include "../net/loop_helpers.h"
#include "common/tls/session.h"
#include "test_pki.h"

namespace lmesh::tls {
namespace {

using namespace std::chrono_literals;
using net::testing::pattern;
using net::testing::Recorder;
using net::testing::run_until;
using net::testing::stop_and_close;
using testing::identity;
using testing::TestPki;

struct TlsPair {
  TlsPair(event::Worker& w, const TestPki& client_pki, const TestPki& server_pki,
          std::string expected = identity("default", "api"))
      : worker(w),
        listener(w.loop(), [this](uv_stream_t* s) { accept(s); }),
        client(std::make_unique<net::TcpConnection>(w, client_h)) {
    ContextOptions so;
    so.role = Role::kServer;
    so.credentials = server_pki.leaf("default", "api");
    so.trust_anchors = {server_pki.root.certificate};
    so.alpn = {"h2"};
    server_ctx = *Context::make(so);
    ContextOptions co;
    co.role = Role::kClient;
    co.credentials = client_pki.leaf("default", "web");
    co.trust_anchors = {client_pki.root.certificate};
    co.alpn = {"h2"};
    client_ctx = *Context::make(co);

    REQUIRE(listener.listen(*net::SocketAddress::parse("127.0.0.1:0"), false).has_value());
    auto session = Session::client(client_ctx, {expected, expected, {}});
    REQUIRE(session.has_value());
    REQUIRE(client->set_transport_layer(std::move(*session)).has_value());
    REQUIRE(client->connect(listener.local_address()).has_value());
  }

  void accept(uv_stream_t* s) {
    server = std::make_unique<net::TcpConnection>(worker, server_h);
    REQUIRE(server->accept(s).has_value());
    auto session = Session::server(server_ctx);
    REQUIRE(session.has_value());
    REQUIRE(server->set_transport_layer(std::move(*session)).has_value());
    server->read_start();
  }

  Session& client_session() { return *static_cast<Session*>(client->transport_layer()); }
  Session& server_session() { return *static_cast<Session*>(server->transport_layer()); }

  void close_all() {
    if (client_h.closed == 0) client->close(net::CloseMode::kNoFlush);
    if (server && server_h.closed == 0) server->close(net::CloseMode::kNoFlush);
    listener.close();
    REQUIRE(run_until(
        worker, [this] { return client_h.closed == 1 && (!server || server_h.closed == 1); }));
  }

  event::Worker& worker;
  std::shared_ptr<const Context> server_ctx;
  std::shared_ptr<const Context> client_ctx;
  Recorder client_h;
  Recorder server_h;
  net::Listener listener;
  std::unique_ptr<net::TcpConnection> server;
  std::unique_ptr<net::TcpConnection> client;
};

TEST_CASE("a TLS connection carries plaintext both ways after the handshake", "[tls][net]") {
  event::Worker w(0);
  {
    TestPki pki;
    TlsPair p(w, pki, pki);
    // Written before the handshake: held, then sealed once it is done.
    p.client->write(std::string_view("early bytes;"));
    REQUIRE(run_until(w, [&] { return p.client_h.connected && p.server_h.connected; }));
    CHECK(p.client_session().alpn() == "h2");
    CHECK(p.server_session().peer_identity() == identity("default", "web"));

    std::string big = pattern(1'000'000);
    p.client->write(big);
    p.client->read_start();
    p.server->write(std::string_view("hello client"));
    REQUIRE(run_until(w, [&] { return p.server_h.received.size() == 12 + big.size(); }));
    CHECK(p.server_h.received == "early bytes;" + big);
    REQUIRE(run_until(w, [&] { return p.client_h.received == "hello client"; }));
    // Ciphertext is larger than plaintext: the socket counters see the wire.
    CHECK(p.client->bytes_written() > big.size());
    CHECK(p.client->write_queue_bytes() == 0);

    // A half-close sends close_notify: the server reads its end of stream.
    p.client->shutdown_write();
    REQUIRE(run_until(w, [&] { return p.server_h.eof; }));
    CHECK(p.server_h.received_at_eof == 12 + big.size());
    // And can still answer.
    p.server->write(std::string_view(" bye"));
    REQUIRE(run_until(w, [&] { return p.client_h.received == "hello client bye"; }));
    CHECK(!p.client_h.error);
    CHECK(!p.server_h.error);
    p.close_all();
    CHECK(w.chunks().in_use() == 0);
  }
  stop_and_close(w);
}

TEST_CASE("a flushing close delivers everything, then close_notify", "[tls][net]") {
  event::Worker w(0);
  {
    TestPki pki;
    TlsPair p(w, pki, pki);
    REQUIRE(run_until(w, [&] { return p.client_h.connected && p.server_h.connected; }));
    std::string body = pattern(300'000);
    p.client->write(body);
    p.client->close(net::CloseMode::kFlush);
    REQUIRE(run_until(w, [&] { return p.server_h.eof && p.client_h.closed == 1; }));
    CHECK(p.server_h.received == body);
    p.close_all();
  }
  stop_and_close(w);
}

TEST_CASE("a TLS failure reaches the client as an error, never as on_connected", "[tls][net]") {
  event::Worker w(0);
  {
    TestPki pki;
    SECTION("the server is someone else") {
      TlsPair p(w, pki, pki, identity("default", "db"));
      REQUIRE(run_until(w, [&] { return p.client_h.error.has_value(); }));
      CHECK(p.client_h.error->message() == "tls identity mismatch");
      CHECK(!p.client_h.connected);
      p.close_all();
    }
    SECTION("the server is from another CA") {
      TestPki other("other");
      TlsPair p(w, pki, other);
      REQUIRE(run_until(w, [&] { return p.client_h.error.has_value(); }));
      CHECK(p.client_h.error->message() == "tls certificate untrusted");
      // The server sees the client's alert and fails too.
      REQUIRE(run_until(w, [&] { return p.server_h.error.has_value() || p.server_h.eof; }));
      CHECK(!p.server_h.connected);
      p.close_all();
    }
  }
  stop_and_close(w);
}

}  // namespace
}  // namespace lmesh::tls
