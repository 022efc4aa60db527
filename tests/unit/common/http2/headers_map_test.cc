// The shared heads to and from HTTP/2 header lists (src/common/http/h2/headers_map.h).
#include <catch2/catch.hpp>

#include "common/http/h2/headers_map.h"
#include "h2_test_util.h"

namespace lmesh::http::h2 {
namespace {

using testing::Pair;
using Events = std::vector<std::string>;

// A head as the HTTP/1 parser hands it over: mixed-case names, hop-by-hop fields, Host.
RequestHead http1_head() {
  RequestHead h;
  h.method = "POST";
  h.target = "/submit?x=1";
  h.headers.add("Host", "api.test:8080");
  h.headers.add("Connection", "keep-alive, X-Hop");
  h.headers.add("Keep-Alive", "timeout=5");
  h.headers.add("Proxy-Connection", "keep-alive");
  h.headers.add("Transfer-Encoding", "chunked");
  h.headers.add("Upgrade", "websocket");
  h.headers.add("HTTP2-Settings", "AAMAAABkAAQAAP__");
  h.headers.add("TE", "trailers, deflate");
  h.headers.add("X-Hop", "named by Connection");
  h.headers.add("Content-Type", "application/json");
  h.headers.add("x-request-id", "abc");
  return h;
}

TEST_CASE("h2 headers: an HTTP/1 request head loses its connection-specific fields") {
  RequestHead head = http1_head();  // the list points into it
  NvList nv;
  REQUIRE(encode_request(head, nv));
  CHECK(nv.to_string() ==
        ":method: POST\n"
        ":scheme: http\n"
        ":authority: api.test:8080\n"
        ":path: /submit?x=1\n"
        "te: trailers\n"
        "Content-Type: application/json\n"  // nghttp2 lower-cases names when it copies them
        "x-request-id: abc\n");
}

TEST_CASE("h2 headers: request targets") {
  auto encode = [](std::string method, std::string target, std::string authority = "",
                   std::string scheme = "") {
    RequestHead h;
    h.method = std::move(method);
    h.target = std::move(target);
    h.authority = std::move(authority);
    h.scheme = std::move(scheme);
    NvList nv;
    auto r = encode_request(h, nv);
    return r ? nv.to_string() : "error: " + r.error().message();
  };
  // Absolute-form: its authority wins over Host (RFC 9112 §3.2.2), an empty path is "/".
  CHECK(encode("GET", "http://b.test:81/x?y") ==
        ":method: GET\n:scheme: http\n:authority: b.test:81\n:path: /x?y\n");
  CHECK(encode("GET", "https://b.test") ==
        ":method: GET\n:scheme: https\n:authority: b.test\n:path: /\n");
  CHECK(encode("GET", "http://b.test?q=1") ==
        ":method: GET\n:scheme: http\n:authority: b.test\n:path: /?q=1\n");
  // The head's own :authority and :scheme (from an HTTP/2 peer) are kept.
  CHECK(encode("GET", "/p", "c.test", "https") ==
        ":method: GET\n:scheme: https\n:authority: c.test\n:path: /p\n");
  // No authority at all is allowed (origin-form without Host).
  CHECK(encode("GET", "/p") == ":method: GET\n:scheme: http\n:path: /p\n");
  CHECK(encode("OPTIONS", "*", "d.test") ==
        ":method: OPTIONS\n:scheme: http\n:authority: d.test\n:path: *\n");
  // CONNECT carries only :method and :authority (RFC 9113 §8.5).
  CHECK(encode("CONNECT", "e.test:443") == ":method: CONNECT\n:authority: e.test:443\n");
  CHECK(encode("CONNECT", "") == "error: h2 CONNECT request without an authority");
  CHECK(encode("GET", "relative") == "error: h2 request target is not a path: 'relative'");
}

TEST_CASE("h2 headers: responses and trailers") {
  ResponseHead r;
  r.status = 404;
  r.reason = "Not Found";  // HTTP/2 has no reason phrase
  r.headers.add("Connection", "close");
  r.headers.add("Transfer-Encoding", "chunked");
  r.headers.add("Content-Type", "text/plain");
  NvList nv;
  REQUIRE(encode_response(r, nv));
  CHECK(nv.to_string() == ":status: 404\nContent-Type: text/plain\n");

  HeaderMap t;
  t.add("grpc-status", "0");
  t.add(":path", "/smuggled");  // never a pseudo-header field in trailers (§8.1)
  t.add("Connection", "close");
  t.add("te", "trailers");  // TE belongs to requests only
  NvList tnv;
  encode_trailers(t, tnv);
  CHECK(tnv.to_string() == "grpc-status: 0\n");

  NvList bad;
  r.status = 99;
  CHECK_FALSE(encode_response(r, bad));
}

TEST_CASE("h2 headers: an HTTP/1 head crosses an HTTP/2 hop clean and lower-cased") {
  Pair p;
  std::optional<RequestHead> seen;
  p.server_rec.on_request = [&](Stream& s, bool) { seen = s.request(); };
  REQUIRE(p.client->submit_request(http1_head(), false));
  p.shuttle();
  REQUIRE(seen);
  CHECK(seen->method == "POST");
  CHECK(seen->target == "/submit?x=1");
  CHECK(seen->authority == "api.test:8080");
  CHECK(seen->scheme == "http");
  CHECK(testing::describe(seen->headers) ==
        "te=trailers;content-type=application/json;x-request-id=abc;");
  CHECK_FALSE(seen->headers.has(FieldName::kHost));
}

TEST_CASE("h2 headers: received heads fill the shared model") {
  RequestHead req;
  add_request_field(req, ":method", "GET");
  add_request_field(req, ":scheme", "https");
  add_request_field(req, ":authority", "f.test");
  add_request_field(req, ":path", "/a");
  add_request_field(req, "content-length", "12");
  finish_request_head(req, false);
  CHECK(req.method == "GET");
  CHECK(req.target == "/a");
  CHECK(req.authority == "f.test");
  CHECK(req.scheme == "https");
  CHECK(req.version_major == 2);
  CHECK(req.version_minor == 0);
  CHECK(req.framing == BodyFraming::kContentLength);
  CHECK(req.content_length == 12);

  RequestHead connect;
  add_request_field(connect, ":method", "CONNECT");
  add_request_field(connect, ":authority", "g.test:443");
  finish_request_head(connect, false);
  CHECK(connect.target == "g.test:443");  // authority-form, as HTTP/1 has it

  ResponseHead resp;
  add_response_field(resp, ":status", "200");
  finish_response_head(resp, true, false);
  CHECK(resp.status == 200);
  CHECK(resp.framing == BodyFraming::kContentLength);  // HTTP/1 must say "no body"
  CHECK(resp.content_length == 0);

  ResponseHead streamed;
  add_response_field(streamed, ":status", "200");
  finish_response_head(streamed, false, false);
  CHECK(streamed.framing == BodyFraming::kChunked);

  ResponseHead no_content;
  add_response_field(no_content, ":status", "304");
  finish_response_head(no_content, true, false);
  CHECK(no_content.framing == BodyFraming::kNone);

  req.clear();
  CHECK(req.authority.empty());
  CHECK(req.scheme.empty());
}

}  // namespace
}  // namespace lmesh::http::h2
