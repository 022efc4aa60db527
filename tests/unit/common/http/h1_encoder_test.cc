// HTTP/1.1 serialization (src/common/http/h1/encoder.h): heads rebuilt without hop-by-hop
// fields, chunked framing around body slices that are moved, not copied.
#include <cstdint>
#include <string>

#include <catch2/catch.hpp>

#include "common/buffer/buffer.h"
#include "common/http/h1/encoder.h"
#include "http_test_util.h"

namespace lmesh::http::h1 {
namespace {

using buffer::Buffer;
using buffer::ChunkPool;

TEST_CASE("the fixed hop-by-hop list and whatever Connection names are not forwarded",
          "[http][h1][encoder]") {
  ChunkPool pool(4096);
  Buffer out(pool);
  HeaderMap h;
  for (const char* name : {"Connection", "keep-alive", "Proxy-Connection", "TE",
                           "Transfer-Encoding", "UPGRADE", "HTTP2-Settings"}) {
    h.add(name, "x");
  }
  h.add("Connection", "keep-alive, X-Secret");
  h.add("Connection", "x-other");
  h.add("x-secret", "1");
  h.add("X-Other", "2");
  h.add("X-Public", "3");
  // Connection may not strip what every recipient needs (RFC 9110 §7.6.1).
  h.add("Connection", "Host, Content-Length");
  h.add("Host", "svc");
  h.add("Content-Length", "0");
  append_end_to_end_fields(out, h);
  CHECK(out.to_string() == "X-Public: 3\r\nHost: svc\r\nContent-Length: 0\r\n");
}

TEST_CASE("append_end_to_end_fields drops hop-by-hop fields and keeps order",
          "[http][h1][encoder]") {
  ChunkPool pool(4096);
  Buffer out(pool);
  HeaderMap h;
  h.add("Host", "svc:8080");
  h.add("Connection", "keep-alive, X-Hop");
  h.add("Keep-Alive", "timeout=5");
  h.add("X-Hop", "secret");
  h.add("Transfer-Encoding", "chunked");
  h.add("Upgrade", "h2c");
  h.add("HTTP2-Settings", "AAA");
  h.add("TE", "trailers");
  h.add("Proxy-Connection", "keep-alive");
  h.add("Accept", "*/*");
  h.add("x-request-id", "42");

  SECTION("everything end-to-end") {
    append_end_to_end_fields(out, h);
    CHECK(out.to_string() == "Host: svc:8080\r\nAccept: */*\r\nx-request-id: 42\r\n");
  }
  SECTION("also leaving one out") {
    append_end_to_end_fields(out, h, "host");
    CHECK(out.to_string() == "Accept: */*\r\nx-request-id: 42\r\n");
  }
  SECTION("Connection with only keep-alive or close names no other field") {
    HeaderMap plain;
    plain.add("Connection", "keep-alive, close");
    plain.add("Close", "not an option here");
    plain.add("X-Other", "1");
    append_end_to_end_fields(out, plain);
    CHECK(out.to_string() == "Close: not an option here\r\nX-Other: 1\r\n");
  }
  SECTION("no Connection field: only the fixed list goes") {
    HeaderMap plain;
    plain.add("X-Hop", "stays");
    plain.add("Keep-Alive", "timeout=5");
    append_end_to_end_fields(out, plain);
    CHECK(out.to_string() == "X-Hop: stays\r\n");
  }
}

TEST_CASE("request and status lines", "[http][h1][encoder]") {
  ChunkPool pool(4096);
  Buffer out(pool);
  SECTION("request line") {
    append_request_line(out, "GET", "/path?q=1");
    CHECK(out.to_string() == "GET /path?q=1 HTTP/1.1\r\n");
  }
  SECTION("status line") {
    append_status_line(out, 404, "Not Found");
    CHECK(out.to_string() == "HTTP/1.1 404 Not Found\r\n");
  }
  SECTION("status line without a reason keeps the space") {
    append_status_line(out, 599, "");
    CHECK(out.to_string() == "HTTP/1.1 599 \r\n");
  }
  SECTION("three digits whatever the code") {
    append_status_line(out, 101, reason_phrase(101));
    append_status_line(out, 200, reason_phrase(200));
    CHECK(out.to_string() == "HTTP/1.1 101 Switching Protocols\r\nHTTP/1.1 200 OK\r\n");
  }
}

TEST_CASE("fields, Content-Length and the end of the head", "[http][h1][encoder]") {
  ChunkPool pool(4096);
  Buffer out(pool);
  append_field(out, "X-A", "b");
  append_content_length(out, 0);
  append_content_length(out, 1234567);
  append_content_length(out, UINT64_MAX);
  end_head(out);
  CHECK(out.to_string() ==
        "X-A: b\r\nContent-Length: 0\r\nContent-Length: 1234567\r\n"
        "Content-Length: 18446744073709551615\r\n\r\n");
}

TEST_CASE("a field longer than a chunk spans chunks", "[http][h1][encoder]") {
  ChunkPool pool(64);
  Buffer out(pool);
  append_field(out, "X-Small", "fits");
  const std::string big(200, 'v');
  append_field(out, "X-Big", big);
  append_field(out, std::string(70, 'N'), "");
  CHECK(out.to_string() ==
        "X-Small: fits\r\nX-Big: " + big + "\r\n" + std::string(70, 'N') + ": \r\n");
}

TEST_CASE("append_chunk frames a slice without copying it", "[http][h1][encoder]") {
  ChunkPool pool(4096);
  {
    Buffer out(pool);
    buffer::Slice data = testing::slice_of(pool, "hello");
    const char* where = data.data();
    append_chunk(out, std::move(data));
    CHECK(out.to_string() == "5\r\nhello\r\n");
    bool moved = false;
    for (size_t i = 0; i < out.slice_count(); ++i) moved = moved || out.slice(i).data() == where;
    CHECK(moved);

    SECTION("sizes are hexadecimal") {
      Buffer big(pool);
      append_chunk(big, testing::slice_of(pool, std::string(255, 'x')));
      CHECK(big.to_string().starts_with("ff\r\nxxx"));
      Buffer bigger(pool);
      append_chunk(bigger, testing::slice_of(pool, std::string(4096, 'y')));
      CHECK(bigger.to_string().starts_with("1000\r\nyyy"));
      CHECK(bigger.size() == 4 + 2 + 4096 + 2);
    }
    SECTION("an empty slice writes nothing (a zero-size chunk would end the body)") {
      Buffer empty(pool);
      append_chunk(empty, buffer::Slice());
      append_chunk(empty, testing::slice_of(pool, ""));
      CHECK(empty.empty());
    }
  }
  CHECK(pool.in_use() == 0);
}

TEST_CASE("append_last_chunk ends the body, with trailers", "[http][h1][encoder]") {
  ChunkPool pool(4096);
  Buffer out(pool);
  SECTION("without trailers") {
    append_last_chunk(out, HeaderMap());
    CHECK(out.to_string() == "0\r\n\r\n");
  }
  SECTION("with trailers, hop-by-hop ones dropped") {
    HeaderMap trailers;
    trailers.add("Grpc-Status", "0");
    trailers.add("Connection", "close");
    trailers.add("X-Checksum", "abc");
    append_last_chunk(out, trailers);
    CHECK(out.to_string() == "0\r\nGrpc-Status: 0\r\nX-Checksum: abc\r\n\r\n");
  }
}

TEST_CASE("reason_phrase knows the common codes", "[http][h1][encoder]") {
  CHECK(reason_phrase(100) == "Continue");
  CHECK(reason_phrase(200) == "OK");
  CHECK(reason_phrase(204) == "No Content");
  CHECK(reason_phrase(304) == "Not Modified");
  CHECK(reason_phrase(400) == "Bad Request");
  CHECK(reason_phrase(404) == "Not Found");
  CHECK(reason_phrase(408) == "Request Timeout");
  CHECK(reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(reason_phrase(502) == "Bad Gateway");
  CHECK(reason_phrase(503) == "Service Unavailable");
  CHECK(reason_phrase(504) == "Gateway Timeout");
  CHECK(reason_phrase(299) == "");
  CHECK(reason_phrase(0) == "");
  CHECK(reason_phrase(999) == "");
}

TEST_CASE("what the encoder writes, the parser reads back", "[http][h1][encoder]") {
  ChunkPool pool(1 << 16);
  Buffer out(pool);
  HeaderMap in;
  in.add("Host", "svc");
  in.add("Connection", "X-Hop");
  in.add("X-Hop", "1");
  in.add("X-Keep", "2");
  append_request_line(out, "POST", "/submit");
  append_end_to_end_fields(out, in);
  append_field(out, "Transfer-Encoding", "chunked");
  end_head(out);
  append_chunk(out, testing::slice_of(pool, "part one, "));
  append_chunk(out, testing::slice_of(pool, "part two"));
  HeaderMap trailers;
  trailers.add("X-Sum", "9");
  append_last_chunk(out, trailers);

  testing::Run r = testing::feed_every_way(Parser::Kind::kRequest, out.to_string());
  CHECK(r.last == Parser::Outcome::kMessageComplete);
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[0] ==
        "request POST /submit 1.1 framing=chunked length=0 keep_alive=1 upgrade=0 "
        "headers=Host=svc;X-Keep=2;Transfer-Encoding=chunked;");
  CHECK(r.events[1] == "complete body='part one, part two' trailers=X-Sum=9;");
}

}  // namespace
}  // namespace lmesh::http::h1
