// HeaderMap and token helpers (src/common/http/headers.h): case-insensitive names, arrival
// order, repeated fields, values built from pieces, and comma-separated lists.
#include "common/http/headers.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace lmesh::http {
namespace {

TEST_CASE("iequals compares ASCII case-insensitively", "[http][headers]") {
  CHECK(iequals("Content-Length", "content-length"));
  CHECK(iequals("HOST", "host"));
  CHECK(iequals("", ""));
  CHECK(!iequals("host", "hostx"));
  CHECK(!iequals("host", "hast"));
  CHECK(!iequals("a-b", "a_b"));
  // Only ASCII letters fold: '@' (0x40) and '`' (0x60) are not a case pair.
  CHECK(!iequals("@", "`"));
  CHECK(!iequals("[", "{"));
}

TEST_CASE("list_contains_token finds tokens in comma-separated lists", "[http][headers]") {
  CHECK(list_contains_token("close", "close"));
  CHECK(list_contains_token("keep-alive, Upgrade", "upgrade"));
  CHECK(list_contains_token("Upgrade,HTTP2-Settings", "http2-settings"));
  CHECK(list_contains_token("  a ,\tb\t, c ", "b"));
  CHECK(list_contains_token("a,,b", "b"));
  CHECK(list_contains_token("a, b,", "b"));
  CHECK(!list_contains_token("", "close"));
  CHECK(!list_contains_token("keep-alive-ish", "keep-alive"));
  CHECK(!list_contains_token("closed", "close"));
  CHECK(!list_contains_token("a b", "a"));  // a space does not separate list elements
}

TEST_CASE("HeaderMap keeps fields in order and looks names up case-insensitively",
          "[http][headers]") {
  HeaderMap h;
  CHECK(h.empty());
  CHECK(!h.get("host"));
  h.add("Host", "example.com");
  h.add("X-Multi", "1");
  h.add("x-multi", "2");
  h.add("Accept", "*/*");
  CHECK(h.size() == 4);
  CHECK(!h.empty());
  CHECK(h.get("HOST") == "example.com");
  CHECK(h.get("X-MULTI") == "1");  // the first one
  CHECK(h.has("accept"));
  CHECK(!h.has("accept-encoding"));
  CHECK(h.at(2).name == "x-multi");
  CHECK(h.at(2).value == "2");

  std::vector<std::string> seen;
  h.for_each([&](std::string_view n, std::string_view v) {
    seen.push_back(std::string(n) + ":" + std::string(v));
  });
  CHECK(seen ==
        std::vector<std::string>{"Host:example.com", "X-Multi:1", "x-multi:2", "Accept:*/*"});
}

TEST_CASE("HeaderMap::has_token looks through every field of that name", "[http][headers]") {
  HeaderMap h;
  h.add("Connection", "keep-alive");
  h.add("connection", "Upgrade");
  h.add("Upgrade", "websocket");
  CHECK(h.has_token("connection", "upgrade"));
  CHECK(h.has_token("CONNECTION", "keep-alive"));
  CHECK(!h.has_token("connection", "close"));
  CHECK(!h.has_token("upgrade", "h2c"));
  CHECK(h.has_token("upgrade", "WebSocket"));
}

TEST_CASE("HeaderMap builds a field from pieces", "[http][headers]") {
  HeaderMap h;
  h.begin_field();
  h.append_name("Cont");
  h.append_name("ent-Type");
  h.append_value("text/");
  h.append_value("html; charset=utf-8 ");
  h.append_value(" ");
  h.end_field();
  h.begin_field();
  h.append_name("X-Empty");
  h.end_field();
  h.begin_field();
  h.append_name("CONNECT");
  h.append_name("ION");
  h.append_value("close");
  h.end_field();
  CHECK(h.size() == 3);
  CHECK(h.at(0).name == "Content-Type");
  CHECK(h.get("content-type") == "text/html; charset=utf-8");  // trimmed by end_field()
  CHECK(h.get("x-empty") == "");
  // The name is classified once it is whole.
  CHECK(h.at(2).kind == FieldName::kConnection);
  CHECK(h.get(FieldName::kConnection) == "close");
}

TEST_CASE("classify_field_name knows the fields a proxy acts on", "[http][headers]") {
  struct Case {
    const char* name;
    FieldName kind;
  };
  const Case cases[] = {
      {"Connection", FieldName::kConnection},
      {"keep-alive", FieldName::kKeepAlive},
      {"Proxy-Connection", FieldName::kProxyConnection},
      {"TE", FieldName::kTe},
      {"Transfer-Encoding", FieldName::kTransferEncoding},
      {"UPGRADE", FieldName::kUpgrade},
      {"HTTP2-Settings", FieldName::kHttp2Settings},
      {"host", FieldName::kHost},
      {"Content-Length", FieldName::kContentLength},
      // Near misses.
      {"Hosts", FieldName::kOther},
      {"Hos", FieldName::kOther},
      {"Content-Lengthy", FieldName::kOther},
      {"Content_Length", FieldName::kOther},
      {"Connectio", FieldName::kOther},
      {"Keep_Alive", FieldName::kOther},
      {"T", FieldName::kOther},
      {"TEE", FieldName::kOther},
      {"X-TE", FieldName::kOther},
      {"HTTP3-Settings", FieldName::kOther},
      {"", FieldName::kOther},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(classify_field_name(c.name) == c.kind);
  }
  // Which of them describe the connection rather than the message (RFC 9110 §7.6.1).
  CHECK(is_hop_by_hop(FieldName::kConnection));
  CHECK(is_hop_by_hop(FieldName::kKeepAlive));
  CHECK(is_hop_by_hop(FieldName::kProxyConnection));
  CHECK(is_hop_by_hop(FieldName::kTe));
  CHECK(is_hop_by_hop(FieldName::kTransferEncoding));
  CHECK(is_hop_by_hop(FieldName::kUpgrade));
  CHECK(is_hop_by_hop(FieldName::kHttp2Settings));
  CHECK(!is_hop_by_hop(FieldName::kHost));
  CHECK(!is_hop_by_hop(FieldName::kContentLength));
  CHECK(!is_hop_by_hop(FieldName::kOther));
}

TEST_CASE("HeaderMap looks up classified fields by kind or by name", "[http][headers]") {
  HeaderMap h;
  h.add("X-A", "1");
  h.add("HOST", "example.com");
  h.add("Upgrade", "websocket");
  h.add("upgrade", "h2c");
  CHECK(h.at(0).kind == FieldName::kOther);
  CHECK(h.at(1).kind == FieldName::kHost);
  CHECK(h.get(FieldName::kHost) == "example.com");
  CHECK(h.get("host") == "example.com");
  CHECK(h.has(FieldName::kUpgrade));
  CHECK(!h.has(FieldName::kContentLength));
  CHECK(!h.get(FieldName::kConnection));
  CHECK(h.has_token(FieldName::kUpgrade, "H2C"));  // in the second Upgrade field
  CHECK(h.has_token("upgrade", "websocket"));
  CHECK(!h.has_token(FieldName::kUpgrade, "tls/1.0"));
}

TEST_CASE("has_connection_options: only options beyond keep-alive, close and upgrade",
          "[http][headers]") {
  HeaderMap h;
  CHECK(!h.has_connection_options());
  h.add("Connection", "keep-alive, Close,  upgrade ");
  CHECK(!h.has_connection_options());
  h.add("Connection", "X-Private");
  CHECK(h.has_connection_options());
  h.clear();
  CHECK(!h.has_connection_options());
  h.add("Connection", "close,,");
  CHECK(!h.has_connection_options());
  h.add("X-Other", "X-Private");  // only Connection names options
  CHECK(!h.has_connection_options());
}

TEST_CASE("HeaderMap trims whitespace around values", "[http][headers]") {
  HeaderMap h;
  h.add("A", "  padded\t ");
  h.add("B", " \t ");
  h.add("C", "in ner");
  CHECK(h.get("a") == "padded");
  CHECK(h.get("b") == "");
  CHECK(h.get("c") == "in ner");
}

TEST_CASE("HeaderMap::byte_size counts names and values; clear() empties it", "[http][headers]") {
  HeaderMap h;
  CHECK(h.byte_size() == 0);
  h.add("Host", "h");
  h.add("Accept", "*/*");
  CHECK(h.byte_size() == 4 + 1 + 6 + 3);
  h.clear();
  CHECK(h.empty());
  CHECK(h.byte_size() == 0);
  CHECK(!h.has("host"));
  // Reused after clear(), as a keep-alive connection does for every request.
  h.add("Via", "1.1 lmesh");
  CHECK(h.size() == 1);
  CHECK(h.get("via") == "1.1 lmesh");
}

TEST_CASE("HeaderMap views stay correct as the arena grows", "[http][headers]") {
  HeaderMap h;
  for (int i = 0; i < 500; ++i) {
    h.add("X-Field-" + std::to_string(i), std::string(static_cast<size_t>(i % 50), 'v'));
  }
  CHECK(h.size() == 500);
  CHECK(h.get("x-field-0") == "");
  CHECK(h.get("X-FIELD-499") == std::string(499 % 50, 'v'));
  CHECK(h.at(123).name == "X-Field-123");
}

TEST_CASE("HeaderMap::add copes with a field taken from the map itself", "[http][headers]") {
  // A proxy copies fields from map to map; taken from the same one, the views point into the
  // arena the add may move.
  HeaderMap h;
  h.add("Connection", " x-private ");
  for (int i = 0; i < 200; ++i) {
    HeaderMap::Field f = h.at(static_cast<size_t>(i));
    h.add(f.name, f.value);
  }
  REQUIRE(h.size() == 201);
  for (size_t i = 0; i < h.size(); ++i) {
    CHECK(h.at(i).name == "Connection");
    CHECK(h.at(i).value == "x-private");
    CHECK(h.at(i).kind == FieldName::kConnection);
  }
  CHECK(h.has_connection_options());
}

TEST_CASE("HeaderMap::remove drops every field of that name, keeping the others in order",
          "[http][headers]") {
  HeaderMap h;
  h.add("a", "1");
  h.add("LMESH-Orig-Proto", "HTTP/1.1");
  h.add("b", "2");
  h.add("lmesh-orig-proto", "again");
  h.remove("lmesh-orig-proto");
  REQUIRE(h.size() == 2);
  CHECK(h.at(0).name == "a");
  CHECK(h.at(1).name == "b");
  CHECK_FALSE(h.has("lmesh-orig-proto"));
  h.remove("not-there");
  CHECK(h.size() == 2);
}

}  // namespace
}  // namespace lmesh::http
