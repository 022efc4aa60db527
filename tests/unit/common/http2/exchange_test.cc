// Request/response exchanges between a ClientSession and a ServerSession wired back to back.
#include <catch2/catch.hpp>

#include "h2_test_util.h"

namespace lmesh::http::h2 {
namespace {

using testing::Pair;
using testing::request;
using testing::response;
using Events = std::vector<std::string>;

TEST_CASE("h2: GET with END_STREAM on HEADERS; response with body and trailers") {
  Pair p;
  p.server_rec.on_request = [&](Stream& s, bool end_stream) {
    CHECK(end_stream);
    CHECK(s.state() == Stream::State::kHalfClosedRemote);
    CHECK(s.request().version_major == 2);
    CHECK(s.request().framing == BodyFraming::kNone);
    ResponseHead r = response(200);
    r.headers.add("content-type", "text/plain");
    REQUIRE(p.server->submit_response(s, r, false));
    REQUIRE(p.server->send_data(s, p.buf("hello "), false));
    REQUIRE(p.server->send_data(s, p.buf("world"), false));
    HeaderMap t;
    t.add("grpc-status", "0");
    t.add("grpc-message", "ok");
    REQUIRE(p.server->send_trailers(s, t));
  };
  RequestHead req = request("GET", "/index.html");
  req.headers.add("accept", "*/*");
  auto stream = p.client->submit_request(req, true);
  REQUIRE(stream);
  CHECK((*stream)->id() == 1);
  p.shuttle();

  CHECK(p.server_rec.events ==
        Events{
            "request 1 GET http://example.test/index.html end headers=accept=*/*;",
            "end 1 body=",
            "closed 1 closed",
        });
  CHECK(p.client_rec.events == Events{
                                   "response 1 200 headers=content-type=text/plain;",
                                   "trailers 1 grpc-status=0;grpc-message=ok;",
                                   "end 1 body=hello world",
                                   "closed 1 closed",
                               });
  CHECK(p.client->stream_count() == 0);
  CHECK(p.server->stream_count() == 0);
  CHECK(p.client->want_read());  // idle connection, still usable
}

TEST_CASE("h2: POST with body and trailers both ways, fed in every piece size") {
  for (size_t step : {size_t{0}, size_t{1}, size_t{7}, size_t{100}}) {
    INFO("piece size " << step);
    Pair p;
    p.server_rec.on_end = [&](Stream& s) {
      // Echo the request body back after the request is complete.
      ResponseHead r = response(201);
      REQUIRE(p.server->submit_response(s, r, false));
      REQUIRE(p.server->send_data(s, p.buf(p.server_rec.bodies[s.id()]), false));
      HeaderMap t;
      t.add("x-checksum", "abc");
      REQUIRE(p.server->send_trailers(s, t));
    };
    RequestHead req = request("POST", "/upload");
    req.headers.add("content-type", "application/json");
    auto stream = p.client->submit_request(req, false);
    REQUIRE(stream);
    Stream& s = **stream;
    REQUIRE(p.client->send_data(s, p.buf("{\"a\":"), false));
    REQUIRE(p.client->send_data(s, p.buf("1}"), false));
    HeaderMap t;
    t.add("x-request-trailer", "yes");
    REQUIRE(p.client->send_trailers(s, t));
    p.shuttle(step);

    CHECK(p.server_rec.events ==
          Events{
              "request 1 POST http://example.test/upload headers=content-type=application/json;",
              "trailers 1 x-request-trailer=yes;",
              "end 1 body={\"a\":1}",
              "closed 1 closed",
          });
    CHECK(p.client_rec.events == Events{
                                     "response 1 201 headers=",
                                     "trailers 1 x-checksum=abc;",
                                     "end 1 body={\"a\":1}",
                                     "closed 1 closed",
                                 });
  }
}

TEST_CASE("h2: request head mapping: chunked framing without content-length, length with it") {
  Pair p;
  std::vector<RequestHead> seen;
  p.server_rec.on_request = [&](Stream& s, bool) {
    seen.push_back(s.request());
    p.server->reset(s, Http2ErrorCode::kNoError);
  };
  RequestHead a = request("POST", "/a");
  RequestHead b = request("PUT", "/b?x=1");
  b.headers.add("content-length", "3");
  auto sa = p.client->submit_request(a, false);
  auto sb = p.client->submit_request(b, false);
  REQUIRE(sa);
  REQUIRE(sb);
  p.shuttle();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].framing == BodyFraming::kChunked);
  CHECK(seen[1].framing == BodyFraming::kContentLength);
  CHECK(seen[1].content_length == 3);
  CHECK(seen[1].target == "/b?x=1");
  CHECK(seen[1].authority == "example.test");
  CHECK(seen[1].scheme == "http");
}

TEST_CASE("h2: many concurrent streams interleave and all complete") {
  Pair p;
  constexpr int kStreams = 60;
  p.server_rec.on_request = [&](Stream& s, bool) {
    REQUIRE(p.server->submit_response(s, response(200), false));
  };
  p.server_rec.on_end = [&](Stream& s) {
    // Each answer is the request body twice, sent in two pieces.
    const std::string& body = p.server_rec.bodies[s.id()];
    REQUIRE(p.server->send_data(s, p.buf(body), false));
    REQUIRE(p.server->send_data(s, p.buf(body), true));
  };
  std::vector<Stream*> streams;
  for (int i = 0; i < kStreams; ++i) {
    auto s = p.client->submit_request(request("POST", "/s/" + std::to_string(i)), false);
    REQUIRE(s);
    streams.push_back(*s);
  }
  // Bodies in rounds, so frames of different streams interleave on the wire.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kStreams; ++i) {
      REQUIRE(p.client->send_data(*streams[i], p.buf(std::to_string(i) + "."), round == 2));
    }
    p.shuttle();
  }
  CHECK(p.server_rec.closed == kStreams);
  CHECK(p.client_rec.closed == kStreams);
  for (int i = 0; i < kStreams; ++i) {
    StreamId id = 1 + 2 * i;
    std::string once = std::to_string(i) + "." + std::to_string(i) + "." + std::to_string(i) + ".";
    CHECK(p.server_rec.bodies[id] == once);
    CHECK(p.client_rec.bodies[id] == once + once);
  }
  CHECK(p.client_rec.with("reset").empty());
  CHECK(p.server_rec.with("reset").empty());
}

TEST_CASE("h2: 100-continue: informational response before the final one") {
  Pair p;
  p.server_rec.on_request = [&](Stream& s, bool end_stream) {
    CHECK_FALSE(end_stream);
    CHECK(s.request().headers.get("expect") == "100-continue");
    REQUIRE(p.server->submit_response(s, response(100), false));
  };
  p.server_rec.on_end = [&](Stream& s) {
    REQUIRE(p.server->submit_response(s, response(204), true));
  };
  bool body_sent = false;
  Stream* stream = nullptr;
  p.client_rec.on_response = [&](Stream& s, bool) {
    if (s.response().status == 100) {
      // The body goes only once the server said to go on (RFC 9110 §10.1.1).
      REQUIRE(p.client->send_data(s, p.buf("payload"), true));
      body_sent = true;
    }
  };
  RequestHead req = request("PUT", "/big");
  req.headers.add("expect", "100-continue");
  auto s = p.client->submit_request(req, false);
  REQUIRE(s);
  stream = *s;
  p.shuttle();
  CHECK(body_sent);
  CHECK(p.client_rec.events == Events{
                                   "response 1 100 headers=",
                                   "response 1 204 end headers=",
                                   "end 1 body=",
                                   "closed 1 closed",
                               });
  CHECK(p.server_rec.bodies[1] == "payload");
  CHECK(p.server_rec.with("closed") == Events{"closed 1 closed"});
  (void)stream;
}

TEST_CASE("h2: HEAD response framing carries no body even with content-length") {
  Pair p;
  p.server_rec.on_request = [&](Stream& s, bool) {
    ResponseHead r = response(200);
    r.headers.add("content-length", "1234");
    REQUIRE(p.server->submit_response(s, r, true));
  };
  std::optional<ResponseHead> got;
  p.client_rec.on_response = [&](Stream& s, bool) { got = s.response(); };
  REQUIRE(p.client->submit_request(request("HEAD", "/"), true));
  p.shuttle();
  REQUIRE(got);
  CHECK(got->framing == BodyFraming::kNone);
  CHECK(got->content_length == 1234);
  CHECK(p.client_rec.with("reset").empty());
}

TEST_CASE("h2: a stream walks through the RFC 9113 §5.1 states") {
  Pair p;
  std::vector<Stream::State> server_states;
  p.server_rec.on_request = [&](Stream& s, bool) {
    server_states.push_back(s.state());
    REQUIRE(p.server->submit_response(s, response(200), false));
  };
  p.server_rec.on_end = [&](Stream& s) { server_states.push_back(s.state()); };
  auto s = p.client->submit_request(request("POST", "/"), false);
  REQUIRE(s);
  Stream& c = **s;
  CHECK(c.state() == Stream::State::kIdle);  // HEADERS not sent yet
  p.shuttle();
  CHECK(c.state() == Stream::State::kOpen);
  REQUIRE(p.client->send_data(c, p.buf("x"), true));
  p.shuttle();
  CHECK(c.state() == Stream::State::kHalfClosedLocal);
  CHECK(server_states ==
        std::vector<Stream::State>{Stream::State::kOpen, Stream::State::kHalfClosedRemote});
  Stream* server_stream = p.server->find_stream(1);
  REQUIRE(server_stream != nullptr);
  REQUIRE(p.server->send_data(*server_stream, p.buf("done"), true));
  p.shuttle();
  CHECK(p.client_rec.events.back() == "closed 1 closed");
  CHECK(p.server_rec.events.back() == "closed 1 closed");
}

TEST_CASE("h2: submissions in the wrong order fail as values") {
  Pair p;
  Stream* server_stream = nullptr;
  p.server_rec.on_request = [&](Stream& s, bool) { server_stream = &s; };
  auto s = p.client->submit_request(request("POST", "/"), false);
  REQUIRE(s);
  p.shuttle();
  REQUIRE(server_stream != nullptr);
  // Data before the head.
  CHECK_FALSE(p.server->send_data(*server_stream, p.buf("x"), false));
  // An informational head cannot end the stream; 101 does not exist in HTTP/2.
  CHECK_FALSE(p.server->submit_response(*server_stream, response(100), true));
  CHECK_FALSE(p.server->submit_response(*server_stream, response(101), false));
  REQUIRE(p.server->submit_response(*server_stream, response(200), true));
  // Nothing after the end.
  CHECK_FALSE(p.server->submit_response(*server_stream, response(200), true));
  CHECK_FALSE(p.server->send_data(*server_stream, p.buf("x"), false));
  CHECK_FALSE(p.server->send_trailers(*server_stream, HeaderMap()));
  // A client request must carry a method and a path.
  CHECK_FALSE(p.client->submit_request(request("", "/"), true));
  CHECK_FALSE(p.client->submit_request(request("GET", ""), true));
}

TEST_CASE("h2: streams, their heads and nghttp2's state live in the BlockPool and go back to it") {
  Pair p;
  const size_t idle = p.blocks.in_use_bytes();
  CHECK(idle > 0);  // each session's own nghttp2 state
  p.server_rec.on_end = [&](Stream& s) {
    REQUIRE(p.server->submit_response(s, response(200), false));
    REQUIRE(p.server->send_data(s, p.buf("ok"), true));
  };
  RequestHead req = request("POST", "/a/fairly/long/path/that/needs/storage");
  req.headers.add("x-request-field", std::string(200, 'v'));
  auto stream = p.client->submit_request(req, false);
  REQUIRE(stream);
  p.shuttle();
  // Both streams are open (the request has no end yet): the Streams, the request head the
  // server received, and nghttp2's stream state are all pool blocks.
  CHECK(p.blocks.in_use_bytes() > idle + 2 * sizeof(Stream) + 200);
  REQUIRE(p.client->send_data(**stream, p.buf("body"), true));
  p.shuttle();
  CHECK(p.client_rec.events.back() == "closed 1 closed");
  p.client.reset();
  p.server.reset();
  // nghttp2 freed everything it allocated through the pool: nothing leaked past it.
  CHECK(p.blocks.in_use_bytes() == 0);
}

}  // namespace
}  // namespace lmesh::http::h2
