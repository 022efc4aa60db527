// Writes the seed corpus of the h2_server fuzz target (tests/fuzz/corpus/h2_server/): what a
// real ClientSession (or a raw nghttp2 client, for misbehaviour) sends in a few exchanges.
// Hidden: run it on purpose, with the directory to write to (from the source root):
//   LMESH_H2_CORPUS_OUT=tests/fuzz/corpus/h2_server
//   build/tests/unit/common/http2/unit_http2 "[.corpus]"
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "h2_test_util.h"

namespace lmesh::http::h2 {
namespace {

using testing::Pair;
using testing::request;
using testing::response;

void write(const std::string& name, const std::string& bytes) {
  const char* dir = std::getenv("LMESH_H2_CORPUS_OUT");
  REQUIRE(dir != nullptr);
  std::ofstream out(std::string(dir) + "/" + name, std::ios::binary);
  out << bytes;
  REQUIRE(out.good());
}

// A pair whose server answers every request at its end with a short body.
struct AnsweringPair : Pair {
  AnsweringPair() {
    server_rec.on_end = [this](Stream& s) {
      REQUIRE(server->submit_response(s, response(200), false));
      REQUIRE(server->send_data(s, buf("ok"), true));
    };
  }
};

TEST_CASE("h2 fuzz corpus", "[.corpus]") {
  {
    AnsweringPair p;
    REQUIRE(p.client->submit_request(request("GET", "/index.html"), true));
    p.shuttle();
    write("get", p.client_wire);
  }
  {
    AnsweringPair p;
    RequestHead req = request("POST", "/api/v1/items");
    req.headers.add("content-type", "application/json");
    req.headers.add("te", "trailers");
    auto s = p.client->submit_request(req, false);
    REQUIRE(s);
    REQUIRE(p.client->send_data(**s, p.buf("{\"name\":\"x\",\"n\":1}"), false));
    HeaderMap t;
    t.add("x-checksum", "1234");
    REQUIRE(p.client->send_trailers(**s, t));
    p.shuttle();
    write("post_body_trailers", p.client_wire);
  }
  {
    AnsweringPair p;
    for (int i = 0; i < 6; ++i) {
      auto s = p.client->submit_request(request("PUT", "/s/" + std::to_string(i)), false);
      REQUIRE(s);
      REQUIRE(p.client->send_data(**s, p.buf(std::string(10 + i, 'a' + i)), i % 2 == 0));
      if (i % 2 == 1) REQUIRE(p.client->send_data(**s, p.buf("end"), true));
    }
    p.shuttle();
    write("concurrent_streams", p.client_wire);
  }
  {
    AnsweringPair p;
    p.server_rec.on_request = [&](Stream& s, bool) {
      REQUIRE(p.server->submit_response(s, response(100), false));
    };
    RequestHead req = request("PUT", "/upload");
    req.headers.add("expect", "100-continue");
    auto s = p.client->submit_request(req, false);
    REQUIRE(s);
    p.shuttle();
    REQUIRE(p.client->send_data(**s, p.buf(std::string(40000, 'u')), true));
    p.shuttle();
    write("expect_continue_flow_control", p.client_wire);
  }
  {
    AnsweringPair p;
    auto s = p.client->submit_request(request("POST", "/cancel-me"), false);
    REQUIRE(s);
    p.shuttle();
    p.client->reset(**s, Http2ErrorCode::kCancel);
    REQUIRE(p.client->send_ping(0x0102030405060708));
    REQUIRE(p.client->submit_request(request("GET", "/after"), true));
    p.shuttle();
    p.client->graceful_shutdown();
    p.shuttle();
    write("rst_ping_goaway", p.client_wire);
  }
  {
    AnsweringPair p;
    RequestHead req = request("GET", "/big-head");
    for (int i = 0; i < 40; ++i) {
      req.headers.add("x-field-" + std::to_string(i), std::string(700, 'h'));
    }
    REQUIRE(p.client->submit_request(req, true));  // over 16 KiB: HEADERS + CONTINUATION
    p.shuttle();
    CHECK(p.server_rec.with("request").size() == 1);
    write("continuation", p.client_wire);
  }
  {
    testing::RawClient raw;
    auto fields = testing::get_fields();
    fields.push_back({"connection", "keep-alive"});
    raw.request(fields);
    raw.request(testing::get_fields("/ok"));
    write("connection_specific_header", raw.produce());
  }
  {
    testing::RawClient raw;
    std::string attack;
    for (int i = 0; i < 40; ++i) {
      int32_t id = raw.request(testing::get_fields(), false);
      attack += raw.produce();
      nghttp2_submit_rst_stream(raw.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      attack += raw.produce();
    }
    write("rapid_reset", attack);
  }
  {
    std::string flood(testing::kClientPreface);
    flood += testing::frame(0x4, 0, 0);
    for (int i = 0; i < 1100; ++i) flood += testing::frame(0x6, 0, 0, "pingpong");
    write("ping_flood", flood);
  }
  write("bad_preface", "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n");
  write("hpack_garbage", std::string(testing::kClientPreface) + testing::frame(0x4, 0, 0) +
                             testing::frame(0x1, 0x5, 1, "\xff\xff\xff\xff"));
}

}  // namespace
}  // namespace lmesh::http::h2
