// api::Server over real loopback sockets: a blocking client on its own thread, the server on a
// Worker loop in the test thread.
#include "common/api/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "common/event/timer.h"

namespace lmesh::api {
namespace {

// A blocking HTTP/1.1 client that sends raw bytes and reads until a condition holds.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  void send(std::string_view bytes) { (void)!::write(fd_, bytes.data(), bytes.size()); }
  // Reads until `text` contains `until` or the peer closes; returns everything read.
  std::string read_until(std::string_view until) {
    while (received_.find(until) == std::string::npos) {
      char buf[4096];
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      received_.append(buf, static_cast<size_t>(n));
    }
    return received_;
  }
  std::string read_to_close() { return read_until(std::string(1, '\0') + "never"); }
  void close() {
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::string received_;
};

// Runs `client` on a thread while the server's loop runs here; then, on the loop, runs
// `cleanup` (handles a test made must close while the loop still runs) and stops.
void run_with_client(
    event::Worker& w, Server& server, const std::function<void(uint16_t)>& client,
    const std::function<void()>& cleanup = [] {}) {
  auto bound = server.listen(*net::SocketAddress::parse("127.0.0.1:0"));
  REQUIRE(bound.has_value());
  uint16_t port = bound->port();
  std::thread t([&] {
    client(port);
    w.post([&] {
      cleanup();
      server.close();
      w.stop();
    });
  });
  w.run();
  t.join();
}

std::string body_of(const std::string& response) {
  auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

TEST_CASE("routes answer JSON; unknown paths 404, other methods 405", "[api]") {
  event::Worker w(0);
  Server server(w);
  server.route("GET", "/v1/hello", [](const Request& req, std::shared_ptr<Response> r) {
    r->json(200, {{"hello", std::string(req.param("name").value_or("nobody"))}});
  });
  std::string ok, missing, wrong;
  run_with_client(w, server, [&](uint16_t port) {
    Client c(port);
    REQUIRE(c.ok());
    c.send(
        "GET /v1/hello?name=a%20b HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
        "DELETE /v1/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string all = c.read_to_close();
    size_t second = all.find("HTTP/1.1", 1);
    size_t third = all.find("HTTP/1.1", second + 1);
    ok = all.substr(0, second);
    missing = all.substr(second, third - second);
    wrong = all.substr(third);
  });
  CHECK(ok.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(ok.find("Content-Type: application/json") != std::string::npos);
  CHECK(nlohmann::json::parse(body_of(ok)) == nlohmann::json{{"hello", "a b"}});
  CHECK(missing.starts_with("HTTP/1.1 404 "));
  CHECK(nlohmann::json::parse(body_of(missing))["error"] == "not found");
  CHECK(wrong.starts_with("HTTP/1.1 405 "));
  CHECK(nlohmann::json::parse(body_of(wrong)).contains("detail"));
}

TEST_CASE("request bodies arrive whole; oversized ones get 413 and a close", "[api]") {
  event::Worker w(0);
  ServerOptions options;
  options.max_body_bytes = 1000;
  Server server(w, options);
  server.route("POST", "/v1/echo", [](const Request& req, std::shared_ptr<Response> r) {
    r->send(200, "text/plain", req.body);
  });
  std::string small, big;
  run_with_client(w, server, [&](uint16_t port) {
    {
      Client c(port);
      c.send(
          "POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
          "Connection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
      small = c.read_to_close();
    }
    Client c(port);
    c.send("POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" +
           std::string(5000, 'x'));
    big = c.read_to_close();
  });
  CHECK(body_of(small) == "abcde");
  CHECK(big.starts_with("HTTP/1.1 413 "));
  CHECK(big.find("Connection: close") != std::string::npos);
}

TEST_CASE("malformed requests get a JSON 400", "[api]") {
  event::Worker w(0);
  Server server(w);
  std::string response;
  run_with_client(w, server, [&](uint16_t port) {
    Client c(port);
    c.send("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
    response = c.read_to_close();
  });
  CHECK(response.starts_with("HTTP/1.1 400 "));
  CHECK(nlohmann::json::parse(body_of(response))["error"] == "bad request");
}

TEST_CASE("a stream sends one JSON line per event, as it happens", "[api]") {
  event::Worker w(0);
  Server server(w);
  std::unique_ptr<event::Timer> ticker;
  int sent = 0;
  server.route("GET", "/v1/watch", [&](const Request&, std::shared_ptr<Response> r) {
    r->begin_json_stream();
    ticker = std::make_unique<event::Timer>(w.loop(), [&, r] {
      r->send_event({{"n", ++sent}});
      if (sent == 3) {
        r->end_stream();
      } else {
        ticker->arm(std::chrono::milliseconds(5));
      }
    });
    ticker->arm(std::chrono::milliseconds(5));
  });
  std::string response;
  run_with_client(
      w, server,
      [&](uint16_t port) {
        Client c(port);
        c.send("GET /v1/watch HTTP/1.1\r\nHost: x\r\n\r\n");
        response = c.read_until("0\r\n\r\n");
      },
      [&] { ticker.reset(); });
  CHECK(response.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(response.find("Content-Type: application/x-ndjson") != std::string::npos);
  // Each event is its own chunk: size line, JSON, newline.
  CHECK(response.find("8\r\n{\"n\":1}\n\r\n") != std::string::npos);
  CHECK(response.find("8\r\n{\"n\":3}\n\r\n0\r\n\r\n") != std::string::npos);
}

TEST_CASE("a client leaving mid-stream closes the stream for its handler", "[api]") {
  event::Worker w(0);
  Server server(w);
  std::shared_ptr<Response> kept;
  bool closed = false;
  server.route("GET", "/v1/watch", [&](const Request&, std::shared_ptr<Response> r) {
    r->begin_json_stream();
    r->send_event({{"hello", true}});
    r->on_close([&] { closed = true; });
    kept = r;
  });
  run_with_client(w, server, [&](uint16_t port) {
    Client c(port);
    c.send("GET /v1/watch HTTP/1.1\r\nHost: x\r\n\r\n");
    c.read_until("\n\r\n");
    c.close();
    // Give the server a moment to notice before the loop is stopped.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  });
  CHECK(closed);
  REQUIRE(kept != nullptr);
  CHECK(!kept->open());
  kept->send_event({{"late", true}});  // a no-op, not a crash
}

}  // namespace
}  // namespace lmesh::api

namespace lmesh::api {
namespace {

// The bytes an HTTP/2 client sends to open GET `path` (made by nghttp2 itself: no
// hand-written HPACK), with the default 64 KiB windows it then never opens further.
std::string h2_request_bytes(const char* path) {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session* session = nullptr;
  nghttp2_session_client_new(&session, callbacks, nullptr);
  nghttp2_session_callbacks_del(callbacks);
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  auto nv = [](const char* n, const char* v) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(n)),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(v)), strlen(n), strlen(v),
                      NGHTTP2_NV_FLAG_NONE};
  };
  nghttp2_nv head[] = {nv(":method", "GET"), nv(":scheme", "http"), nv(":authority", "x"),
                       nv(":path", path)};
  nghttp2_submit_request(session, nullptr, head, 4, nullptr, nullptr);
  std::string out(NGHTTP2_CLIENT_MAGIC, NGHTTP2_CLIENT_MAGIC_LEN);
  const uint8_t* data = nullptr;
  ssize_t n;
  std::string frames;
  while ((n = nghttp2_session_mem_send(session, &data)) > 0) {
    frames.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  nghttp2_session_del(session);
  // mem_send already starts with the magic for a client session.
  return frames.starts_with(out) ? frames : out + frames;
}

// A /v1/watch stream fed 64 KiB per loop turn (at most `limit`) whose client sends `request`
// and then never reads nor opens a window, until the server gives up on the stream or 10 s
// pass. Returns how much was fed; `closed` says whether the handler heard on_close.
size_t feed_a_stuck_client(const std::string& request, size_t limit, bool& closed_out) {
  event::Worker w(0);
  ServerOptions options;
  options.max_stream_backlog = 256 << 10;
  Server server(w, options);
  std::shared_ptr<Response> stream;
  std::atomic<bool> closed = false;
  size_t sent = 0;
  std::function<void()> pump;
  auto feed = std::make_unique<event::Timer>(w.loop(), [&] { pump(); });
  pump = [&] {
    if (stream == nullptr || !stream->open() || sent >= limit) return;
    for (int i = 0; i < 64; ++i) stream->send_line(std::string(1023, 'x'));
    sent += 64 << 10;
    feed->arm(std::chrono::milliseconds(1));
  };
  server.route("GET", "/v1/watch", [&](const Request&, std::shared_ptr<Response> r) {
    r->begin_json_stream();
    r->on_close([&] { closed = true; });
    stream = r;
    pump();
  });
  run_with_client(
      w, server,
      [&](uint16_t port) {
        Client c(port);
        c.send(request);
        for (int i = 0; i < 1000 && !closed; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      },
      [&] {
        stream.reset();
        feed.reset();  // closed while the loop runs, so that it ends with no handle left
      });
  closed_out = closed;
  return sent;
}

TEST_CASE("a stream whose client stopped reading is closed, not buffered without bound", "[api]") {
  bool closed = false;
  size_t sent = feed_a_stuck_client("GET /v1/watch HTTP/1.1\r\nHost: x\r\n\r\n", 64u << 20, closed);
  CHECK(closed);
  // The kernel's socket buffers take some megabytes first; the server's own queue never
  // held much more than its limit.
  CHECK(sent < (64u << 20));
}

TEST_CASE("an HTTP/2 stream whose client stopped reading is reset, not buffered without bound",
          "[api]") {
  bool closed = false;
  size_t sent = feed_a_stuck_client(h2_request_bytes("/v1/watch"), 16u << 20, closed);
  CHECK(closed);
  // Flow control held the rest: far less than the 16 MiB the test would have fed.
  CHECK(sent < (2u << 20));
}

}  // namespace
}  // namespace lmesh::api
