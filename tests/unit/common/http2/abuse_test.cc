// Bad input and abuse: nothing crashes, every failure is a clear connection or stream error.
#include <catch2/catch.hpp>

#include "h2_test_util.h"

namespace lmesh::http::h2 {
namespace {

using testing::feed_bytes;
using testing::frame;
using testing::kClientPreface;
using testing::Pair;
using testing::produce_string;
using testing::RawClient;
using testing::Recorder;
using testing::request;
using testing::response;
using Events = std::vector<std::string>;

constexpr uint8_t kData = 0x0, kHeaders = 0x1, kRstStream = 0x3, kSettings = 0x4, kPing = 0x6,
                  kWindowUpdate = 0x8, kContinuation = 0x9;
constexpr uint8_t kEndStream = 0x1, kEndHeaders = 0x4;

// A server session alone, fed raw bytes.
struct Server {
  explicit Server(const SessionConfig& config = {}) : pool(1 << 20) {
    auto s = ServerSession::create(rec, pool, blocks, config);
    REQUIRE(s);
    session = std::move(*s);
    rec.session = session.get();
  }
  Result<void> feed(std::string_view bytes) { return feed_bytes(pool, *session, bytes); }
  std::string produce() { return produce_string(pool, *session); }

  buffer::ChunkPool pool;
  buffer::BlockPool blocks;
  Recorder rec;
  std::unique_ptr<ServerSession> session;
};

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// What a RawClient makes of the server's output: the GOAWAY code it got.
uint32_t goaway_code_seen_by_client(Server& server) {
  RawClient raw;
  raw.produce();  // its own preface, so it accepts the server's frames
  raw.feed(server.produce());
  return raw.goaway_code;
}

TEST_CASE("h2 abuse: not HTTP/2 at all is a bad preface, answered with nothing") {
  Server s;
  auto r = s.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == ErrorCode::kProtocol);
  CHECK(s.rec.events == Events{"connection-error h2_bad_preface PROTOCOL_ERROR"});
  CHECK(s.produce().empty());
  CHECK_FALSE(s.session->want_read());
  CHECK_FALSE(s.session->want_write());
  CHECK_FALSE(s.feed(kClientPreface));  // stays failed
  CHECK(s.rec.errors.size() == 1);
}

TEST_CASE("h2 abuse: frame-level garbage after the preface is a connection error with GOAWAY") {
  struct Case {
    const char* name;
    std::string bytes;
    ConnectionErrorKind kind;
    uint32_t code;
  };
  std::string settings = frame(kSettings, 0, 0);
  std::vector<Case> cases = {
      {"DATA on stream 0", frame(kData, 0, 0, "x"), ConnectionErrorKind::kProtocol,
       NGHTTP2_PROTOCOL_ERROR},
      {"SETTINGS with a partial entry", frame(kSettings, 0, 0, "abc"),
       ConnectionErrorKind::kFrameSize, NGHTTP2_FRAME_SIZE_ERROR},
      {"frame over SETTINGS_MAX_FRAME_SIZE", frame(kData, 0, 1, std::string(20000, 'x')),
       ConnectionErrorKind::kFrameSize, NGHTTP2_FRAME_SIZE_ERROR},
      {"HPACK garbage", frame(kHeaders, kEndHeaders | kEndStream, 1, "\xff\xff\xff\xff\xff"),
       ConnectionErrorKind::kCompression, NGHTTP2_COMPRESSION_ERROR},
      {"connection window over 2^31-1", frame(kWindowUpdate, 0, 0, be32(0x7fffffff)),
       ConnectionErrorKind::kFlowControl, NGHTTP2_FLOW_CONTROL_ERROR},
      {"DATA on an idle stream", frame(kData, 0, 5, "x"), ConnectionErrorKind::kProtocol,
       NGHTTP2_PROTOCOL_ERROR},
      {"CONTINUATION without HEADERS", frame(kContinuation, kEndHeaders, 1, ""),
       ConnectionErrorKind::kProtocol, NGHTTP2_PROTOCOL_ERROR},
      {"PING of the wrong length", frame(kPing, 0, 0, "1234"), ConnectionErrorKind::kFrameSize,
       NGHTTP2_FRAME_SIZE_ERROR},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Server s;
    REQUIRE(s.feed(std::string(kClientPreface) + settings));
    (void)s.feed(c.bytes);
    uint32_t code = goaway_code_seen_by_client(s);
    CHECK(code == c.code);
    REQUIRE(s.rec.errors.size() == 1);
    CHECK(s.rec.errors[0].kind == c.kind);
    CHECK_FALSE(s.rec.errors[0].reason.empty());
    CHECK_FALSE(s.session->want_read());
    CHECK_FALSE(s.feed(settings));
  }
}

TEST_CASE("h2 abuse: connection-specific header fields are rejected (RFC 9113 §8.2.2)") {
  std::vector<std::pair<std::string, std::string>> bad = {
      {"connection", "keep-alive"},     {"keep-alive", "timeout=5"}, {"proxy-connection", "close"},
      {"transfer-encoding", "chunked"}, {"upgrade", "h2c"},          {"te", "gzip"},
  };
  for (const auto& field : bad) {
    INFO(field.first << ": " << field.second);
    Server s;
    RawClient raw;
    auto fields = testing::get_fields();
    fields.push_back(field);
    raw.request(fields);
    REQUIRE(s.feed(raw.produce()));
    raw.feed(s.produce());
    CHECK(s.rec.with("request").empty());
    CHECK(s.rec.with("rejected") == Events{"rejected 1 PROTOCOL_ERROR"});
    CHECK(raw.rst_codes[1] == NGHTTP2_PROTOCOL_ERROR);
    CHECK(s.rec.errors.empty());  // a stream error, not a connection error
  }
  {
    // Upper-case field names are malformed (§8.2.1). nghttp2 lower-cases names it is given,
    // so this HEADERS is hand-made: :method GET, :scheme http, :path / (HPACK static
    // entries 2, 6, 4), :authority "a" (literal, indexed name 1), and "Upper-Case: x"
    // (literal with a new name, RFC 7541 §6.2.2).
    Server s;
    std::string block(
        "\x82\x86\x84\x01\x01"
        "a"
        "\x00\x0a"
        "Upper-Case"
        "\x01"
        "x",
        20);
    REQUIRE(s.feed(std::string(kClientPreface) + frame(kSettings, 0, 0) +
                   frame(kHeaders, kEndHeaders | kEndStream, 1, block)));
    (void)s.produce();  // the stream closes when its RST_STREAM goes out
    CHECK(s.rec.with("request").empty());
    CHECK(s.rec.with("rejected") == Events{"rejected 1 PROTOCOL_ERROR"});
    CHECK(s.rec.errors.empty());
  }
  // "te: trailers" is the one TE HTTP/2 allows.
  Server s;
  RawClient raw;
  auto fields = testing::get_fields();
  fields.push_back({"te", "trailers"});
  raw.request(fields);
  REQUIRE(s.feed(raw.produce()));
  CHECK(s.rec.with("request") ==
        Events{"request 1 GET http://example.test/ end headers=te=trailers;"});
}

TEST_CASE("h2 abuse: malformed request heads are stream errors") {
  std::vector<std::vector<std::pair<std::string, std::string>>> heads = {
      {{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}},                 // no :path
      {{":method", "GET"}, {":path", "/"}, {":scheme", "http"}, {":path", "/"}},      // twice
      {{":method", "GET"}, {"x", "1"}, {":path", "/"}, {":scheme", "http"}},          // order
      {{":method", "GET"}, {":path", "/"}, {":scheme", "http"}, {":status", "200"}},  // response
      {{":method", "GET"}, {":path", "/"}, {":scheme", "http"}, {"x", "a\nb"}},       // CR/LF
  };
  for (const auto& head : heads) {
    Server s;
    RawClient raw;
    raw.request(head);
    REQUIRE(s.feed(raw.produce()));
    raw.feed(s.produce());
    CHECK(s.rec.with("request").empty());
    CHECK(raw.rst_codes[1] == NGHTTP2_PROTOCOL_ERROR);
    CHECK(s.rec.errors.empty());
  }
}

TEST_CASE("h2 abuse: a body longer than its content-length resets the stream") {
  Pair p;
  RequestHead req = request("POST", "/");
  req.headers.add("content-length", "3");
  auto cs = p.client->submit_request(req, false);
  REQUIRE(cs);
  REQUIRE(p.client->send_data(**cs, p.buf("12345"), true));
  p.shuttle();
  CHECK(p.server_rec.with("reset") == Events{"reset 1 PROTOCOL_ERROR session"});
  CHECK(p.client_rec.with("reset") == Events{"reset 1 PROTOCOL_ERROR peer"});
}

TEST_CASE("h2 abuse: a request header list over the limit is answered 431") {
  SessionConfig server_config;
  server_config.max_header_list_size = 1024;
  Pair p(server_config);
  p.shuttle();
  RequestHead req = request("POST", "/");
  req.headers.add("x-big", std::string(2000, 'b'));
  auto cs = p.client->submit_request(req, false);
  REQUIRE(cs);
  REQUIRE(p.client->send_data(**cs, p.buf("body the server will not read"), false));
  p.shuttle();
  CHECK(p.server_rec.with("request").empty());
  CHECK(p.server_rec.with("rejected") == Events{"rejected 1 NO_ERROR"});
  REQUIRE(p.server_rec.rejected_reasons.size() == 1);
  CHECK(p.server_rec.rejected_reasons[0].find("1024") != std::string::npos);
  // A complete 431, then RST_STREAM(NO_ERROR) to stop the upload (RFC 9113 §8.1, §10.5.1).
  CHECK(p.client_rec.events == Events{"response 1 431 end headers=", "end 1 body=",
                                      "reset 1 NO_ERROR peer", "closed 1 closed"});
  CHECK(p.server->stream_count() == 0);
  // The connection goes on.
  REQUIRE(p.client->submit_request(request("GET", "/small"), true));
  p.shuttle();
  CHECK(p.server_rec.with("request").size() == 1);
}

TEST_CASE("h2 abuse: a response header list over the client's limit cancels the stream") {
  SessionConfig client_config;
  client_config.max_header_list_size = 1024;
  Pair p({}, client_config);
  p.server_rec.on_request = [&](Stream& s, bool) {
    ResponseHead r = response(200);
    r.headers.add("x-big", std::string(2000, 'b'));
    REQUIRE(p.server->submit_response(s, r, false));
    REQUIRE(p.server->send_data(s, p.buf("body"), false));  // more to come
  };
  REQUIRE(p.client->submit_request(request("GET", "/"), true));
  p.shuttle();
  CHECK(p.client_rec.events == Events{"reset 1 CANCEL session", "closed 1 closed"});
  CHECK(p.server_rec.with("reset") == Events{"reset 1 CANCEL peer"});
}

TEST_CASE("h2 abuse: a PING flood is a flood error with ENHANCE_YOUR_CALM") {
  Server s;
  REQUIRE(s.feed(std::string(kClientPreface) + frame(kSettings, 0, 0)));
  // The owner produces nothing meanwhile (its write queue is full: the flooder does not read),
  // so the acknowledgements pile up in the session.
  std::string pings;
  for (int i = 0; i < 1100; ++i) pings += frame(kPing, 0, 0, "12345678");
  auto r = s.feed(pings);
  REQUIRE_FALSE(r);
  REQUIRE(s.rec.errors.size() == 1);
  CHECK(s.rec.errors[0].kind == ConnectionErrorKind::kFlood);
  CHECK(s.rec.errors[0].code == Http2ErrorCode::kEnhanceYourCalm);
  CHECK(goaway_code_seen_by_client(s) == NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST_CASE("h2 abuse: a SETTINGS flood is a flood error") {
  Server s;
  REQUIRE(s.feed(std::string(kClientPreface) + frame(kSettings, 0, 0)));
  std::string settings;
  for (int i = 0; i < 1100; ++i) settings += frame(kSettings, 0, 0);
  REQUIRE_FALSE(s.feed(settings));
  REQUIRE(s.rec.errors.size() == 1);
  CHECK(s.rec.errors[0].kind == ConnectionErrorKind::kFlood);
}

TEST_CASE("h2 abuse: a CONTINUATION flood is a flood error") {
  Server s;
  REQUIRE(s.feed(std::string(kClientPreface) + frame(kSettings, 0, 0)));
  // A valid start (":method: GET" is HPACK static index 2) and then endless CONTINUATIONs.
  std::string flood = frame(kHeaders, kEndStream, 1, "\x82");
  for (int i = 0; i < 20; ++i) flood += frame(kContinuation, 0, 1, "\x82");
  REQUIRE_FALSE(s.feed(flood));
  REQUIRE(s.rec.errors.size() == 1);
  CHECK(s.rec.errors[0].kind == ConnectionErrorKind::kFlood);
}

TEST_CASE("h2 abuse: rapid reset (CVE-2023-44487) ends the connection") {
  SessionConfig config;
  config.reset_burst = 10;
  config.reset_rate_per_second = 1;
  Server s(config);
  RawClient raw;
  // HEADERS, then RST_STREAM once they are on the wire (before that, nghttp2 would just drop
  // the request), fifty times.
  std::string attack;
  for (int i = 0; i < 50; ++i) {
    int32_t id = raw.request(testing::get_fields(), false);
    attack += raw.produce();
    nghttp2_submit_rst_stream(raw.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    attack += raw.produce();
  }
  (void)s.feed(attack);
  raw.feed(s.produce());
  // nghttp2 1.52+deb12u1 queues GOAWAY(INTERNAL_ERROR) when its bucket runs dry; the session
  // reports a flood and ends the connection with ENHANCE_YOUR_CALM.
  REQUIRE(s.rec.errors.size() == 1);
  CHECK(s.rec.errors[0].kind == ConnectionErrorKind::kFlood);
  CHECK(s.rec.errors[0].code == Http2ErrorCode::kEnhanceYourCalm);
  CHECK(raw.goaway_code == NGHTTP2_ENHANCE_YOUR_CALM);
  CHECK_FALSE(s.session->want_read());
  CHECK_FALSE(s.feed(attack));
}

TEST_CASE("h2 abuse: random bytes after the preface never crash the session") {
  uint64_t state = 0x9e3779b97f4a7c15;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int round = 0; round < 300; ++round) {
    Server s;
    std::string bytes(kClientPreface);
    bytes += frame(kSettings, 0, 0);
    // Frame-shaped noise: plausible headers, random payloads.
    for (int f = 0; f < 8; ++f) {
      std::string payload(next() % 64, '\0');
      for (char& c : payload) c = static_cast<char>(next());
      bytes += frame(static_cast<uint8_t>(next() % 11), static_cast<uint8_t>(next()),
                     static_cast<uint32_t>(next() % 8), payload);
    }
    (void)s.feed(bytes);
    (void)s.produce();
    s.session->abandon();
    CHECK(s.rec.errors.size() <= 1);
  }
}

}  // namespace
}  // namespace lmesh::http::h2
