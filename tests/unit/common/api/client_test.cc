// api::Client against an api::Server on the same Worker loop: real sockets, no threads.
#include "common/api/client.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/api/server.h"
#include "common/event/timer.h"

namespace lmesh::api {
namespace {

using namespace std::chrono_literals;

// A server and a client on one loop; `stop()` ends the loop, a watchdog ends it regardless.
struct Fixture {
  event::Worker w{0};
  std::unique_ptr<Server> server = std::make_unique<Server>(w);
  std::optional<net::SocketAddress> address;
  std::unique_ptr<event::Timer> watchdog;
  bool timed_out = false;

  net::SocketAddress listen() {
    auto bound = server->listen(*net::SocketAddress::parse("127.0.0.1:0"));
    REQUIRE(bound.has_value());
    address = *bound;
    return *bound;
  }
  // Runs the loop until stop(); `cleanup` closes what the test made while the loop runs.
  void run(std::function<void()> cleanup = [] {}) {
    cleanup_ = std::move(cleanup);
    watchdog = std::make_unique<event::Timer>(w.loop(), [this] {
      timed_out = true;
      stop();
    });
    watchdog->arm(5s);
    w.run();
  }
  void stop() {
    w.post([this] {
      cleanup_();
      watchdog.reset();
      server->close();
      w.stop();
    });
  }

 private:
  std::function<void()> cleanup_;
};

ClientOptions fast_options(ClientProtocol protocol) {
  ClientOptions o;
  o.protocol = protocol;
  o.connect_timeout = 500ms;
  o.request_timeout = 200ms;
  o.backoff_min = 10ms;
  o.backoff_max = 40ms;
  return o;
}

TEST_CASE("a request gets the whole JSON response", "[api][client]") {
  const ClientProtocol protocol = GENERATE(ClientProtocol::kHttp2, ClientProtocol::kHttp1);
  CAPTURE(protocol == ClientProtocol::kHttp2 ? "h2c" : "HTTP/1.1");
  Fixture f;
  bool saw_host_field = false;  // HTTP/1.1 sends Host; HTTP/2 sends :authority instead
  f.server->route("POST", "/v1/echo", [&](const Request& req, std::shared_ptr<Response> r) {
    saw_host_field = req.headers->has("host");
    r->json(201, {{"got", nlohmann::json::parse(req.body)}});
  });
  Client client(f.w, f.listen(), fast_options(protocol));
  std::optional<Result<ClientResponse>> result;
  auto call = client.request("POST", "/v1/echo", R"({"a":1})", [&](Result<ClientResponse> r) {
    result = std::move(r);
    f.stop();
  });
  f.run([&] { call.reset(); });
  REQUIRE(!f.timed_out);
  REQUIRE(result.has_value());
  REQUIRE(result->has_value());
  CHECK((*result)->status == 201);
  CHECK((*result)->content_type == "application/json");
  CHECK(nlohmann::json::parse((*result)->body) == nlohmann::json{{"got", {{"a", 1}}}});
  CHECK(saw_host_field == (protocol == ClientProtocol::kHttp1));
}

TEST_CASE("over HTTP/2, calls share one connection; over HTTP/1.1 each has its own",
          "[api][client]") {
  const ClientProtocol protocol = GENERATE(ClientProtocol::kHttp2, ClientProtocol::kHttp1);
  CAPTURE(protocol == ClientProtocol::kHttp2 ? "h2c" : "HTTP/1.1");
  Fixture f;
  std::set<std::string> peers;
  f.server->route("GET", "/v1/who", [&](const Request& req, std::shared_ptr<Response> r) {
    peers.insert(req.peer.to_string());
    r->json(200, {});
  });
  Client client(f.w, f.listen(), fast_options(protocol));
  int answered = 0;
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < 5; ++i) {
    calls.push_back(client.request("GET", "/v1/who", "", [&](Result<ClientResponse> r) {
      CHECK(r.has_value());
      if (++answered == 5) f.stop();
    }));
  }
  f.run([&] { calls.clear(); });
  REQUIRE(!f.timed_out);
  CHECK(peers.size() == (protocol == ClientProtocol::kHttp2 ? 1u : 5u));
}

TEST_CASE("a refused connection and a silent server are errors, not hangs", "[api][client]") {
  const ClientProtocol protocol = GENERATE(ClientProtocol::kHttp2, ClientProtocol::kHttp1);
  CAPTURE(protocol == ClientProtocol::kHttp2 ? "h2c" : "HTTP/1.1");
  Fixture f;
  f.server->route("GET", "/v1/silent", [](const Request&, std::shared_ptr<Response>) {});
  net::SocketAddress bound = f.listen();
  net::SocketAddress nobody = *net::SocketAddress::parse("127.0.0.1:1");
  Client refused(f.w, nobody, fast_options(protocol));
  Client silent(f.w, bound, fast_options(protocol));
  std::optional<Error> refused_error, silent_error;
  auto a = refused.request("GET", "/", "", [&](Result<ClientResponse> r) {
    REQUIRE(!r.has_value());
    refused_error = r.error();
    if (silent_error) f.stop();
  });
  auto b = silent.request("GET", "/v1/silent", "", [&](Result<ClientResponse> r) {
    REQUIRE(!r.has_value());
    silent_error = r.error();
    if (refused_error) f.stop();
  });
  f.run([&] {
    a.reset();
    b.reset();
  });
  REQUIRE(!f.timed_out);
  CHECK(refused_error->code() == ErrorCode::kRefused);
  CHECK(silent_error->code() == ErrorCode::kTimeout);
}

TEST_CASE("dropping a call cancels it: its callback never runs", "[api][client]") {
  const ClientProtocol protocol = GENERATE(ClientProtocol::kHttp2, ClientProtocol::kHttp1);
  CAPTURE(protocol == ClientProtocol::kHttp2 ? "h2c" : "HTTP/1.1");
  Fixture f;
  std::shared_ptr<Response> pending;  // answered later: by then the call is gone
  f.server->route("GET", "/v1/slow",
                  [&](const Request&, std::shared_ptr<Response> r) { pending = std::move(r); });
  auto answer = std::make_unique<event::Timer>(f.w.loop(), [&] {
    if (pending) pending->json(200, {});
  });
  answer->arm(50ms);
  Client client(f.w, f.listen(), fast_options(protocol));
  bool called = false;
  auto call = client.request("GET", "/v1/slow", "", [&](Result<ClientResponse>) { called = true; });
  auto drop = std::make_unique<event::Timer>(f.w.loop(), [&] { call.reset(); });
  drop->arm(10ms);
  auto finish = std::make_unique<event::Timer>(f.w.loop(), [&] { f.stop(); });
  finish->arm(150ms);
  f.run([&] {
    drop.reset();
    finish.reset();
    answer.reset();
    pending.reset();
  });
  CHECK(!called);
}

TEST_CASE("a watch follows a stream and reconnects when it ends", "[api][client]") {
  const ClientProtocol protocol = GENERATE(ClientProtocol::kHttp2, ClientProtocol::kHttp1);
  CAPTURE(protocol == ClientProtocol::kHttp2 ? "h2c" : "HTTP/1.1");
  Fixture f;
  int opened = 0;
  f.server->route("GET", "/v1/watch", [&](const Request&, std::shared_ptr<Response> r) {
    ++opened;
    r->begin_json_stream();
    r->send_event({{"stream", opened}, {"n", 1}});
    r->send_event({{"stream", opened}, {"n", 2}});
    r->end_stream();
  });
  Client client(f.w, f.listen(), fast_options(protocol));
  std::vector<nlohmann::json> lines;
  std::vector<std::chrono::milliseconds> retries;
  WatchCallbacks cb;
  cb.on_line = [&](std::string_view line) {
    lines.push_back(nlohmann::json::parse(line));
    if (lines.size() == 4) f.stop();
  };
  cb.on_error = [&](const Error&, std::chrono::milliseconds in) { retries.push_back(in); };
  auto watch = client.watch("/v1/watch", cb);
  f.run([&] { watch.reset(); });
  REQUIRE(!f.timed_out);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == nlohmann::json{{"stream", 1}, {"n", 1}});
  CHECK(lines[3] == nlohmann::json{{"stream", 2}, {"n", 2}});
  REQUIRE(!retries.empty());
  for (auto d : retries) CHECK(d <= 40ms);
}

TEST_CASE("a watch keeps retrying while the server is away, and stops when told to",
          "[api][client]") {
  const ClientProtocol protocol = GENERATE(ClientProtocol::kHttp2, ClientProtocol::kHttp1);
  CAPTURE(protocol == ClientProtocol::kHttp2 ? "h2c" : "HTTP/1.1");
  Fixture f;
  net::SocketAddress nobody = *net::SocketAddress::parse("127.0.0.1:1");
  Client client(f.w, nobody, fast_options(protocol));
  int failures = 0;
  WatchCallbacks cb;
  cb.on_error = [&](const Error& e, std::chrono::milliseconds) {
    CHECK(e.code() == ErrorCode::kRefused);
    if (++failures == 3) f.stop();
  };
  auto watch = client.watch("/v1/anything", cb);
  f.run([&] { watch.reset(); });
  REQUIRE(!f.timed_out);
  CHECK(failures == 3);

  Fixture g;
  int opens = 0;
  Client gone(g.w, g.listen(), fast_options(protocol));  // no such route: 404
  WatchCallbacks stop_on_404;
  stop_on_404.on_open = [&](int status) {
    ++opens;
    CHECK(status == 404);
    return false;
  };
  auto w404 = gone.watch("/v1/missing", stop_on_404);
  auto later = std::make_unique<event::Timer>(g.w.loop(), [&] { g.stop(); });
  later->arm(150ms);
  g.run([&] {
    w404.reset();
    later.reset();
  });
  CHECK(opens == 1);  // told to stop: no reconnect
}

// Regression: a cancelled HTTP/1.1 call finishes closing its socket on a later loop turn; it
// used to reach its Client then (to defer its own deletion), after the Client was gone.
TEST_CASE("a Client may go right after cancelling an HTTP/1.1 call in flight", "[api][client]") {
  Fixture f;
  std::shared_ptr<Response> held;  // the server takes the request and never answers
  f.server->route("GET", "/v1/slow",
                  [&](const Request&, std::shared_ptr<Response> r) { held = std::move(r); });
  auto client = std::make_unique<Client>(f.w, f.listen(), fast_options(ClientProtocol::kHttp1));
  bool called = false;
  auto call =
      client->request("GET", "/v1/slow", "", [&](Result<ClientResponse>) { called = true; });
  std::unique_ptr<event::Timer> poll;
  std::function<void()> check = [&] {
    if (held == nullptr) {
      poll->arm(1ms);
      return;
    }
    call.reset();    // cancels: the socket closes on a later turn
    client.reset();  // ... after the Client is gone
    f.stop();
  };
  poll = std::make_unique<event::Timer>(f.w.loop(), [&] { check(); });
  poll->arm(1ms);
  f.run([&] {
    poll.reset();
    held.reset();
  });
  REQUIRE(!f.timed_out);
  CHECK(!called);
}

TEST_CASE("backoff is full jitter under an exponential ceiling", "[api][client]") {
  event::Worker w(0);
  ClientOptions o;
  o.backoff_min = 100ms;
  o.backoff_max = 1000ms;
  Client client(w, *net::SocketAddress::parse("127.0.0.1:1"), o);
  for (unsigned attempt = 0; attempt < 10; ++attempt) {
    auto ceiling = std::min<int64_t>(1000, 100LL << attempt);
    for (int i = 0; i < 50; ++i) {
      auto d = client.backoff(attempt);
      CHECK(d.count() >= 0);
      CHECK(d.count() <= ceiling);
    }
  }
  w.post([&] { w.stop(); });
  w.run();
}

}  // namespace
}  // namespace lmesh::api
