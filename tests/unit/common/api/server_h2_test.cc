// api::Server over HTTP/2 with prior knowledge: a blocking ClientSession on its own thread,
// the server on a Worker loop in the test thread.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "common/api/server.h"
#include "common/event/timer.h"
#include "common/http/h2/session.h"

namespace lmesh::api {
namespace {

namespace h2 = http::h2;
using namespace std::chrono_literals;

struct Answer {
  int status = 0;
  std::string content_type;
  std::string body;
  bool ended = false;
  bool closed = false;
};

// An HTTP/2 client over a blocking socket, for a test thread.
class H2Client final : public h2::Session::Handler {
 public:
  // `split_preface`: the first write goes out in two pieces, 50 ms apart, cutting the preface.
  explicit H2Client(uint16_t port, bool split_preface = false) : split_preface_(split_preface) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    auto s = h2::ClientSession::create(*this, pool_, blocks_);
    REQUIRE(s.has_value());
    session_ = std::move(*s);
  }
  ~H2Client() override {
    session_.reset();
    if (fd_ >= 0) ::close(fd_);
  }

  h2::StreamId request(const std::string& method, const std::string& path,
                       const std::string& body = "") {
    http::RequestHead head;
    head.method = method;
    head.target = path;
    head.authority = "api.test";
    head.scheme = "http";
    auto s = session_->submit_request(head, body.empty());
    REQUIRE(s.has_value());
    if (!body.empty()) {
      buffer::Buffer b(pool_);
      b.append(body);
      REQUIRE(session_->send_data(**s, std::move(b), true).has_value());
    }
    return (*s)->id();
  }

  // Exchanges frames until `done()` or 5 s pass.
  bool run_until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      buffer::Buffer out(pool_);
      session_->produce(out);
      std::string bytes = out.to_string();
      if (split_preface_ && bytes.size() > 10) {
        split_preface_ = false;
        if (::write(fd_, bytes.data(), 10) != 10) return false;
        std::this_thread::sleep_for(50ms);
        bytes.erase(0, 10);
      }
      if (!bytes.empty() && ::write(fd_, bytes.data(), bytes.size()) < 0) return false;
      if (done()) return true;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      buffer::Chunk* c = pool_.acquire();
      ssize_t n = ::read(fd_, c->data(), pool_.chunk_size());
      if (n <= 0) {
        buffer::ChunkPool::unref(c);
        return done();
      }
      c->fill = static_cast<uint32_t>(n);
      buffer::Slice slice(c, 0, static_cast<size_t>(n));
      if (!session_->feed(slice)) return done();
    }
    return false;
  }

  void reset(h2::StreamId id) {
    if (h2::Stream* s = session_->find_stream(id)) session_->reset(*s, h2::Http2ErrorCode::kCancel);
  }

  std::map<h2::StreamId, Answer> answers;

 private:
  void on_response_head(h2::Stream& s, bool) override {
    Answer& a = answers[s.id()];
    a.status = s.response().status;
    a.content_type = std::string(s.response().headers.get("content-type").value_or(""));
  }
  void on_data(h2::Stream& s, buffer::Slice data) override {
    answers[s.id()].body.append(data.view());
    session_->consume(s, data.size());
  }
  void on_stream_end(h2::Stream& s) override { answers[s.id()].ended = true; }
  void on_stream_closed(h2::Stream& s) override { answers[s.id()].closed = true; }

  int fd_ = -1;
  bool split_preface_;
  buffer::ChunkPool pool_;
  buffer::BlockPool blocks_;
  std::unique_ptr<h2::ClientSession> session_;
};

void run_with_client(
    event::Worker& w, Server& server, const std::function<void(uint16_t)>& client,
    const std::function<void()>& cleanup = [] {}) {
  auto bound = server.listen(*net::SocketAddress::parse("127.0.0.1:0"));
  REQUIRE(bound.has_value());
  std::thread t([&, port = bound->port()] {
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

TEST_CASE("HTTP/2 clients reach the same routes, errors and limits", "[api][h2]") {
  event::Worker w(0);
  ServerOptions options;
  options.max_body_bytes = 100;
  Server server(w, options);
  server.route("GET", "/v1/hello", [](const Request& req, std::shared_ptr<Response> r) {
    r->json(200, {{"hello", std::string(req.param("name").value_or("?"))}});
  });
  server.route("POST", "/v1/echo", [](const Request& req, std::shared_ptr<Response> r) {
    r->send(200, "text/plain", req.body);
  });
  std::map<h2::StreamId, Answer> answers;
  h2::StreamId hello = 0, missing = 0, echo = 0, big = 0;
  run_with_client(w, server, [&](uint16_t port) {
    H2Client c(port);
    hello = c.request("GET", "/v1/hello?name=h2");
    missing = c.request("GET", "/v1/nope");
    echo = c.request("POST", "/v1/echo", "abc");
    big = c.request("POST", "/v1/echo", std::string(500, 'x'));
    REQUIRE(c.run_until([&] {
      for (auto id : {hello, missing, echo, big}) {
        if (!c.answers[id].closed) return false;
      }
      return true;
    }));
    answers = c.answers;
  });
  CHECK(answers[hello].status == 200);
  CHECK(answers[hello].content_type == "application/json");
  CHECK(nlohmann::json::parse(answers[hello].body) == nlohmann::json{{"hello", "h2"}});
  CHECK(answers[missing].status == 404);
  CHECK(nlohmann::json::parse(answers[missing].body)["error"] == "not found");
  CHECK(answers[echo].body == "abc");
  CHECK(answers[big].status == 413);
}

TEST_CASE("a preface cut across reads still starts HTTP/2", "[api][h2]") {
  event::Worker w(0);
  Server server(w);
  server.route("GET", "/v1/hello", [](const Request&, std::shared_ptr<Response> r) {
    r->json(200, {{"hello", "h2"}});
  });
  Answer answer;
  run_with_client(w, server, [&](uint16_t port) {
    H2Client c(port, /*split_preface=*/true);
    h2::StreamId id = c.request("GET", "/v1/hello");
    REQUIRE(c.run_until([&] { return c.answers[id].closed; }));
    answer = c.answers[id];
  });
  CHECK(answer.status == 200);
  CHECK(nlohmann::json::parse(answer.body) == nlohmann::json{{"hello", "h2"}});
}

TEST_CASE("an HTTP/2 watch streams one JSON line per event, once; a reset closes it", "[api][h2]") {
  event::Worker w(0);
  Server server(w);
  std::shared_ptr<Response> watcher;
  bool closed = false;
  server.route("GET", "/v1/watch", [&](const Request&, std::shared_ptr<Response> r) {
    r->begin_json_stream();
    r->send_event({{"n", 1}});
    r->send_event({{"n", 2}});
    r->on_close([&] { closed = true; });
    watcher = std::move(r);
  });
  std::string body;
  run_with_client(
      w, server,
      [&](uint16_t port) {
        H2Client c(port);
        h2::StreamId id = c.request("GET", "/v1/watch");
        REQUIRE(c.run_until([&] { return c.answers[id].body.size() >= 16; }));
        body = c.answers[id].body;
        c.reset(id);
        c.run_until([] { return false; });  // let the RST_STREAM go out (bounded wait)
      },
      [&] { watcher.reset(); });
  CHECK(body == "{\"n\":1}\n{\"n\":2}\n");
  CHECK(closed);
}

}  // namespace
}  // namespace lmesh::api
