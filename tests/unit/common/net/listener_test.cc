// Listener (src/common/net/listener.h): binding, the port the kernel picked, SO_REUSEPORT
// between workers, and errors that name the address.
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "loop_helpers.h"

namespace lmesh::net {
namespace {

using namespace testing;

// Accepts every connection into a TcpConnection and counts them.
struct Acceptor {
  explicit Acceptor(event::Worker& w)
      : worker(w), listener(w.loop(), [this](uv_stream_t* s) { accept(s); }) {}

  void accept(uv_stream_t* s) {
    auto h = std::make_unique<Recorder>();
    auto c = std::make_unique<TcpConnection>(worker, *h);
    if (c->accept(s)) {
      handlers.push_back(std::move(h));
      connections.push_back(std::move(c));
    } else {
      ++failed;
    }
  }
  bool all_closed() const {
    for (const auto& h : handlers) {
      if (h->closed != 1) return false;
    }
    return true;
  }
  void close_all() {
    for (auto& c : connections) c->close(CloseMode::kNoFlush);
    listener.close();
  }

  event::Worker& worker;
  Listener listener;
  std::vector<std::unique_ptr<Recorder>> handlers;
  std::vector<std::unique_ptr<TcpConnection>> connections;
  int failed = 0;
};

TEST_CASE("Listener binds port 0 and reports the port it got", "[net][listener]") {
  event::Worker w(0);
  {
    Acceptor a(w);
    auto r = a.listener.listen(*SocketAddress::parse("127.0.0.1:0"), false);
    REQUIRE(r.has_value());
    CHECK(a.listener.open());
    SocketAddress local = a.listener.local_address();
    CHECK(local.valid());
    CHECK(local.port() != 0);
    CHECK(local.is_loopback());

    Recorder h;
    TcpConnection client(w, h);
    REQUIRE(client.connect(local).has_value());
    REQUIRE(run_until(w, [&] { return h.connected && a.connections.size() == 1; }));
    CHECK(a.failed == 0);

    client.close(CloseMode::kNoFlush);
    a.close_all();
    CHECK(!a.listener.open());
    CHECK(!a.listener.local_address().valid());
    REQUIRE(run_until(w, [&] { return h.closed == 1 && a.all_closed(); }));
  }
  stop_and_close(w);
}

TEST_CASE("two listeners with SO_REUSEPORT share a port", "[net][listener]") {
  event::Worker w(0);
  {
    Acceptor first(w);
    Acceptor second(w);
    REQUIRE(first.listener.listen(*SocketAddress::parse("127.0.0.1:0"), true).has_value());
    SocketAddress shared = first.listener.local_address();
    auto r = second.listener.listen(shared, true);
    REQUIRE(r.has_value());
    CHECK(second.listener.local_address() == shared);

    // The kernel spreads connections over both; together they take every one.
    constexpr size_t kClients = 32;
    std::vector<std::unique_ptr<Recorder>> handlers;
    std::vector<std::unique_ptr<TcpConnection>> clients;
    for (size_t i = 0; i < kClients; ++i) {
      handlers.push_back(std::make_unique<Recorder>());
      clients.push_back(std::make_unique<TcpConnection>(w, *handlers.back()));
      REQUIRE(clients.back()->connect(shared).has_value());
    }
    REQUIRE(run_until(
        w, [&] { return first.connections.size() + second.connections.size() == kClients; }));
    CHECK(first.failed + second.failed == 0);

    for (auto& c : clients) c->close(CloseMode::kNoFlush);
    first.close_all();
    second.close_all();
    REQUIRE(run_until(w, [&] {
      for (auto& h : handlers) {
        if (h->closed != 1) return false;
      }
      return first.all_closed() && second.all_closed();
    }));
  }
  stop_and_close(w);
}

TEST_CASE("a second listener without SO_REUSEPORT fails and names the address", "[net][listener]") {
  event::Worker w(0);
  {
    Acceptor first(w);
    Acceptor second(w);
    REQUIRE(first.listener.listen(*SocketAddress::parse("127.0.0.1:0"), true).has_value());
    SocketAddress taken = first.listener.local_address();

    auto r = second.listener.listen(taken, false);
    REQUIRE(!r.has_value());
    CHECK(r.error().code() == ErrorCode::kIo);
    CHECK_THAT(r.error().message(), Catch::Contains("bind " + taken.to_string()));
    CHECK_THAT(r.error().message(), Catch::Contains(uv_strerror(UV_EADDRINUSE)));

    // Nor does SO_REUSEPORT on the second help when the first did not ask for it.
    Acceptor exclusive(w);
    REQUIRE(exclusive.listener.listen(*SocketAddress::parse("127.0.0.1:0"), false).has_value());
    Acceptor late(w);
    CHECK(!late.listener.listen(exclusive.listener.local_address(), true).has_value());

    first.close_all();
    second.close_all();
    exclusive.close_all();
    late.close_all();
  }
  stop_and_close(w);
}

TEST_CASE("Listener reports an address it cannot bind", "[net][listener]") {
  event::Worker w(0);
  {
    Acceptor a(w);
    // TEST-NET-1 is not configured on any interface here.
    auto r = a.listener.listen(*SocketAddress::parse("192.0.2.1:0"), false);
    REQUIRE(!r.has_value());
    CHECK(r.error().code() == ErrorCode::kIo);
    CHECK_THAT(r.error().message(), Catch::Contains("192.0.2.1:0"));
    a.close_all();
  }
  stop_and_close(w);
}

TEST_CASE("Listener on IPv6 loopback", "[net][listener]") {
  event::Worker w(0);
  {
    Acceptor a(w);
    auto r = a.listener.listen(*SocketAddress::parse("[::1]:0"), true);
    if (!r) {
      WARN("no IPv6 loopback here: " << r.error().describe());
    } else {
      SocketAddress local = a.listener.local_address();
      CHECK(local.family() == AF_INET6);
      CHECK(local.port() != 0);
      Recorder h;
      TcpConnection client(w, h);
      REQUIRE(client.connect(local).has_value());
      REQUIRE(run_until(w, [&] { return h.connected && a.connections.size() == 1; }));
      client.close(CloseMode::kNoFlush);
      REQUIRE(run_until(w, [&] { return h.closed == 1; }));
    }
    a.close_all();
    REQUIRE(run_until(w, [&] { return a.all_closed(); }));
  }
  stop_and_close(w);
}

}  // namespace
}  // namespace lmesh::net
