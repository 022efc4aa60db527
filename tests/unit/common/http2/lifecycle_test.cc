// Streams and connections ending: RST_STREAM from either side, GOAWAY drain, the concurrency
// limit, PING, and the transport going away.
#include <catch2/catch.hpp>

#include "h2_test_util.h"

namespace lmesh::http::h2 {
namespace {

using testing::Pair;
using testing::request;
using testing::response;
using Events = std::vector<std::string>;

TEST_CASE("h2: RST_STREAM from the client") {
  Pair p;
  auto cs = p.client->submit_request(request("POST", "/"), false);
  REQUIRE(cs);
  REQUIRE(p.client->send_data(**cs, p.buf("partial"), false));
  p.shuttle();
  REQUIRE(p.server_rec.streams.count(1) == 1);
  p.client->reset(**cs, Http2ErrorCode::kCancel);
  p.client->reset(**cs, Http2ErrorCode::kCancel);  // a second reset is a no-op
  p.shuttle();
  CHECK(p.server_rec.events == Events{"request 1 POST http://example.test/ headers=",
                                      "reset 1 CANCEL peer", "closed 1 closed"});
  // The owner's own reset is not reported back to it: only the close.
  CHECK(p.client_rec.events == Events{"closed 1 closed"});
  CHECK(p.server_rec.bodies[1] == "partial");
}

TEST_CASE("h2: RST_STREAM from the server, with queued data dropped") {
  Pair p;
  p.server_rec.on_request = [&](Stream& s, bool) {
    REQUIRE(p.server->submit_response(s, response(200), false));
    REQUIRE(p.server->send_data(s, p.buf(std::string(100000, 'q')), false));
  };
  p.client_rec.auto_consume = false;  // so the server's data stays queued
  REQUIRE(p.client->submit_request(request("GET", "/"), true));
  p.shuttle();
  Stream* s = p.server->find_stream(1);
  REQUIRE(s != nullptr);
  CHECK(s->queued_bytes() > 0);
  p.server->reset(*s, Http2ErrorCode::kInternalError);
  CHECK(p.server->queued_bytes() == 0);
  p.shuttle();
  CHECK(p.client_rec.with("reset") == Events{"reset 1 INTERNAL_ERROR peer"});
  CHECK(p.client_rec.events.back() == "closed 1 closed");
  CHECK(p.server_rec.with("reset").empty());
  CHECK(p.server->stream_count() == 0);
}

TEST_CASE("h2: a complete response then RST_STREAM(NO_ERROR) stops the upload (RFC 9113 §8.1)") {
  Pair p;
  p.server_rec.on_request = [&](Stream& s, bool) {
    REQUIRE(p.server->submit_response(s, response(413), true));
    p.server->reset(s, Http2ErrorCode::kNoError);
  };
  auto cs = p.client->submit_request(request("POST", "/too-big"), false);
  REQUIRE(cs);
  REQUIRE(p.client->send_data(**cs, p.buf("first part"), false));
  p.shuttle();
  CHECK(p.client_rec.events == Events{"response 1 413 end headers=", "end 1 body=",
                                      "reset 1 NO_ERROR peer", "closed 1 closed"});
}

TEST_CASE("h2: GOAWAY graceful drain: streams in flight finish, new ones are refused") {
  Pair p;
  p.server_rec.on_end = [&](Stream& s) {
    REQUIRE(p.server->submit_response(s, response(200), false));
    REQUIRE(p.server->send_data(s, p.buf("bye " + std::to_string(s.id())), true));
  };
  auto s1 = p.client->submit_request(request("POST", "/1"), false);
  auto s3 = p.client->submit_request(request("POST", "/3"), false);
  REQUIRE(s1);
  REQUIRE(s3);
  p.shuttle();

  // The server starts draining while the client, not knowing yet, opens stream 5.
  p.server->graceful_shutdown();
  auto s5 = p.client->submit_request(request("POST", "/5"), false);
  REQUIRE(s5);
  p.shuttle();
  // Notice first (last id 2^31-1), then after the PING round trip the real last id: 5 made it.
  CHECK(p.client_rec.with("goaway") == Events{"goaway 2147483647 NO_ERROR", "goaway 5 NO_ERROR"});
  CHECK_FALSE(p.client->can_submit_request());
  auto refused = p.client->submit_request(request("GET", "/late"), true);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == ErrorCode::kClosed);
  CHECK(p.server->want_read());  // three streams still in flight

  for (auto* s : {*s1, *s3, *s5}) REQUIRE(p.client->send_data(*s, p.buf("x"), true));
  p.shuttle();
  CHECK(p.client_rec.with("end") ==
        Events{"end 1 body=bye 1", "end 3 body=bye 3", "end 5 body=bye 5"});
  CHECK(p.client_rec.with("reset").empty());
  // Both sides are done: the owner may close the connection.
  CHECK_FALSE(p.server->want_read());
  CHECK_FALSE(p.server->want_write());
  CHECK_FALSE(p.client->want_read());
  CHECK_FALSE(p.client->want_write());
}

TEST_CASE("h2: a stream above the final GOAWAY's last id is refused and safe to retry") {
  Pair p;
  p.server_rec.on_request = [&](Stream& s, bool) {
    REQUIRE(p.server->submit_response(s, response(200), true));
  };
  REQUIRE(p.client->submit_request(request("GET", "/1"), true));
  testing::pump(p.pool, *p.client, *p.server);
  // Stream 3 is on the wire while the server's final GOAWAY (its shutdown timer ran out, so
  // notice and final GOAWAY go together) is on the wire the other way.
  auto s3 = p.client->submit_request(request("GET", "/3"), true);
  REQUIRE(s3);
  buffer::Buffer client_out(p.pool), server_out(p.pool);
  p.client->produce(client_out);
  p.server->graceful_shutdown();
  p.server->graceful_shutdown();
  p.server->produce(server_out);
  for (size_t i = 0; i < client_out.slice_count(); ++i) (void)p.server->feed(client_out.slice(i));
  for (size_t i = 0; i < server_out.slice_count(); ++i) (void)p.client->feed(server_out.slice(i));
  p.shuttle();
  // The server never processed stream 3; the client knows it may retry it elsewhere.
  CHECK(p.server_rec.with("request") == Events{"request 1 GET http://example.test/1 end headers="});
  CHECK(p.client_rec.with("goaway") == Events{"goaway 2147483647 NO_ERROR", "goaway 1 NO_ERROR"});
  CHECK(p.client_rec.with("reset") == Events{"reset 3 REFUSED_STREAM refused"});
  CHECK(p.client_rec.with("end") == Events{"end 1 body="});
}

TEST_CASE("h2: a stream that arrives before the final GOAWAY is produced is served") {
  Pair p;
  p.server_rec.on_request = [&](Stream& s, bool) {
    REQUIRE(p.server->submit_response(s, response(200), true));
  };
  REQUIRE(p.client->submit_request(request("GET", "/1"), true));
  testing::pump(p.pool, *p.client, *p.server);
  auto s3 = p.client->submit_request(request("GET", "/3"), true);
  REQUIRE(s3);
  buffer::Buffer client_out(p.pool);
  p.client->produce(client_out);
  p.server->graceful_shutdown();
  p.server->graceful_shutdown();
  // Stream 3 arrives before the server produced its GOAWAY: the GOAWAY then covers it, rather
  // than the server working on a stream that its GOAWAY calls refused.
  for (size_t i = 0; i < client_out.slice_count(); ++i) (void)p.server->feed(client_out.slice(i));
  p.shuttle();
  CHECK(p.server_rec.with("request").size() == 2);
  CHECK(p.client_rec.with("end") == Events{"end 1 body=", "end 3 body="});
  CHECK(p.client_rec.with("reset").empty());
  CHECK(p.server_rec.with("reset").empty());
}

TEST_CASE("h2: a client's graceful shutdown lets its streams finish") {
  Pair p;
  p.server_rec.on_end = [&](Stream& s) {
    REQUIRE(p.server->submit_response(s, response(200), true));
  };
  auto s1 = p.client->submit_request(request("POST", "/"), false);
  REQUIRE(s1);
  p.shuttle();
  p.client->graceful_shutdown();
  CHECK_FALSE(p.client->can_submit_request());
  p.shuttle();
  CHECK(p.server_rec.with("goaway") == Events{"goaway 0 NO_ERROR"});
  REQUIRE(p.client->send_data(**s1, p.buf("last"), true));
  p.shuttle();
  CHECK(p.client_rec.with("end") == Events{"end 1 body="});
  CHECK_FALSE(p.client->want_read());
  CHECK_FALSE(p.server->want_read());
}

TEST_CASE("h2: SETTINGS_MAX_CONCURRENT_STREAMS is honoured") {
  SessionConfig server_config;
  server_config.max_concurrent_streams = 2;
  Pair p(server_config);
  p.shuttle();  // SETTINGS both ways
  CHECK(p.client->peer_max_concurrent_streams() == 2);
  constexpr int kRequests = 5;
  for (int i = 0; i < kRequests; ++i) {
    REQUIRE(p.client->submit_request(request("GET", "/" + std::to_string(i)), true));
  }
  size_t most_open = 0;
  for (int round = 0; round < 10 && p.server_rec.closed < kRequests; ++round) {
    p.shuttle();
    most_open = std::max(most_open, p.server_rec.streams.size());
    // Answer everything open; the client then starts the requests that waited.
    auto open = p.server_rec.streams;
    for (auto& [id, s] : open) REQUIRE(p.server->submit_response(*s, response(204), true));
  }
  p.shuttle();
  CHECK(most_open == 2);
  CHECK(p.server_rec.closed == kRequests);
  CHECK(p.client_rec.with("end").size() == kRequests);
  CHECK(p.server_rec.with("rejected").empty());
  CHECK(p.client_rec.with("reset").empty());
}

TEST_CASE("h2: a client over the advertised stream limit is refused") {
  SessionConfig server_config;
  server_config.max_concurrent_streams = 1;
  buffer::ChunkPool pool(1 << 20);
  buffer::BlockPool blocks;
  testing::Recorder rec;
  auto server = ServerSession::create(rec, pool, blocks, server_config);
  REQUIRE(server);
  rec.session = server->get();
  testing::RawClient raw;
  raw.request(testing::get_fields("/1"), false);
  raw.request(testing::get_fields("/3"), false);
  REQUIRE(testing::feed_bytes(pool, **server, raw.produce()));
  raw.feed(testing::produce_string(pool, **server));
  // The raw client sent both before it saw the SETTINGS: the second is refused, not an error.
  CHECK(rec.with("request").size() == 1);
  CHECK(rec.with("rejected") == Events{"rejected 3 REFUSED_STREAM"});
  CHECK(raw.rst_codes[3] == NGHTTP2_REFUSED_STREAM);
  CHECK(rec.errors.empty());
}

TEST_CASE("h2: PING round trip") {
  Pair p;
  REQUIRE(p.client->send_ping(42));
  REQUIRE(p.server->send_ping(7));
  CHECK_FALSE(p.client->send_ping(Session::kShutdownPingOpaque));
  p.shuttle();
  CHECK(p.client_rec.events == Events{"ping-ack 42"});
  CHECK(p.server_rec.events == Events{"ping-ack 7"});
}

TEST_CASE("h2: abandon() reports every open stream reset by the connection") {
  Pair p;
  auto s1 = p.client->submit_request(request("POST", "/1"), false);
  auto s3 = p.client->submit_request(request("POST", "/3"), false);
  REQUIRE(s1);
  REQUIRE(s3);
  p.shuttle();
  p.client->reset(**s3, Http2ErrorCode::kCancel);  // the owner's own: only closed
  p.client->abandon();
  CHECK(p.client_rec.events ==
        Events{"reset 1 CANCEL connection", "closed 1 closed", "closed 3 closed"});
  CHECK_FALSE(p.client->want_read());
  CHECK_FALSE(p.client->want_write());
  CHECK_FALSE(p.client->feed(buffer::Slice()));
  p.server->abandon();
  CHECK(p.server_rec.with("reset") ==
        Events{"reset 1 CANCEL connection", "reset 3 CANCEL connection"});
  CHECK(p.pool.in_use() == 0);
}

TEST_CASE("h2: abandon() from inside a callback: nothing more is delivered") {
  Pair p;
  p.server_rec.on_request = [&](Stream&, bool) { p.server->abandon(); };
  REQUIRE(p.client->submit_request(request("GET", "/1"), true));
  REQUIRE(p.client->submit_request(request("GET", "/3"), true));
  testing::pump(p.pool, *p.client, *p.server);
  // Stream 3's HEADERS came in the same feed() but after the abandon.
  CHECK(p.server_rec.events == Events{"request 1 GET http://example.test/1 end headers=",
                                      "reset 1 CANCEL connection", "closed 1 closed"});
  CHECK(p.server->stream_count() == 0);
}

TEST_CASE("h2: terminate() ends the connection with GOAWAY(code)") {
  Pair p;
  REQUIRE(p.client->submit_request(request("GET", "/"), true));
  p.shuttle();
  p.server->terminate(Http2ErrorCode::kInternalError);
  p.shuttle();
  CHECK(p.client_rec.with("goaway") == Events{"goaway 1 INTERNAL_ERROR"});
  CHECK(p.server_rec.errors.empty());  // the owner asked for it: not reported as an error
  CHECK_FALSE(p.server->want_read());
  CHECK_FALSE(p.server->want_write());
}

}  // namespace
}  // namespace lmesh::http::h2

namespace lmesh::http::h2 {
namespace {

TEST_CASE("h2: resetting a request still waiting for a stream slot closes it") {
  SessionConfig server_config;
  server_config.max_concurrent_streams = 1;
  Pair p(server_config);
  p.shuttle();
  auto first = p.client->submit_request(testing::request("GET", "/1"), true);
  auto waiting = p.client->submit_request(testing::request("GET", "/3"), true);
  REQUIRE(first);
  REQUIRE(waiting);
  p.shuttle();
  CHECK(p.server_rec.with("request").size() == 1);
  p.client->reset(**waiting, Http2ErrorCode::kCancel);
  p.shuttle();
  CHECK(p.client_rec.with("closed") == std::vector<std::string>{"closed 3 closed"});
  CHECK(p.client_rec.with("reset").empty());  // the owner's own reset
  CHECK(p.client->stream_count() == 1);
  // A slot frees up: nghttp2 drops the cancelled HEADERS, nothing reaches the server.
  REQUIRE(p.server->submit_response(*p.server_rec.streams.at(1), testing::response(204), true));
  p.shuttle();
  CHECK(p.server_rec.with("request").size() == 1);
  CHECK(p.client_rec.with("closed") ==
        std::vector<std::string>{"closed 3 closed", "closed 1 closed"});
  CHECK(p.client->stream_count() == 0);
}

TEST_CASE("h2: a request head nghttp2 cannot send is reset by the session, not refused") {
  Pair p;
  RequestHead req = testing::request("GET", "/");
  // Over nghttp2's 64 KiB limit on a header block it will send.
  for (int i = 0; i < 120; ++i) {
    std::string v(700, 'a' + i % 26);
    for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<char>('a' + (j * 7 + i) % 26);
    req.headers.add("x-" + std::to_string(i), v);
  }
  auto s = p.client->submit_request(req, true);
  REQUIRE(s);
  p.shuttle();
  CHECK(p.client_rec.with("reset") == std::vector<std::string>{"reset 1 INTERNAL_ERROR session"});
  CHECK(p.client_rec.with("closed").size() == 1);
  CHECK(p.server_rec.with("request").empty());
}

}  // namespace
}  // namespace lmesh::http::h2
