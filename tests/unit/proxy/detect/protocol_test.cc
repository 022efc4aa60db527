// Protocol detection (src/proxy/detect/protocol.h): a pure function over the first bytes a
// client sends. It must decide as early as the bytes allow, wait only while they could still
// be HTTP/1, HTTP/2 or TLS, and never change its mind as more bytes arrive.
#include "proxy/detect/protocol.h"

#include <string>
#include <string_view>

#include <catch2/catch.hpp>

namespace lmesh::proxy {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

constexpr size_t kMax = 1024;
constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

Detection detect(std::string_view b, size_t max = kMax) {
  return detect_protocol(b, max);
}

bool decided_as(std::string_view b, Protocol p, size_t max = kMax) {
  Detection d = detect(b, max);
  return !d.need_more && d.protocol == p;
}

bool needs_more(std::string_view b, size_t max = kMax) {
  return detect(b, max).need_more;
}

// A TLS 1.2/1.3 ClientHello record header: handshake (22), legacy version 3.1, length, then
// handshake type 1 and the start of its body.
const std::string kClientHello(
    "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\x5e\x0f\x1a\x2b\x3c\x4d"sv);

TEST_CASE("empty input waits for bytes", "[detect]") {
  Detection d = detect("");
  CHECK(d.need_more);
}

TEST_CASE("HTTP/1 request lines, every method, 1.0 and 1.1", "[detect][http1]") {
  for (const char* method : {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
                             "PATCH", "PROPFIND", "M-SEARCH", "X_CUSTOM"}) {
    for (const char* version : {"HTTP/1.0", "HTTP/1.1"}) {
      std::string line = std::string(method) + " /some/path?x=1 " + version + "\r\n";
      INFO(line);
      CHECK(decided_as(line, Protocol::kHttp1));
      CHECK(decided_as(line + "Host: example.com\r\n\r\n", Protocol::kHttp1));
    }
  }
  CHECK(decided_as("GET http://example.com/ HTTP/1.1\r\n", Protocol::kHttp1));  // absolute-form
  CHECK(decided_as("CONNECT example.com:443 HTTP/1.1\r\n", Protocol::kHttp1));  // authority-form
  CHECK(decided_as("OPTIONS * HTTP/1.1\r\n", Protocol::kHttp1));                // asterisk-form
}

TEST_CASE("every prefix of a request line asks for more, the line end decides", "[detect][http1]") {
  const std::string request = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
  const size_t line_end = request.find('\n');
  for (size_t n = 1; n < request.size(); ++n) {
    INFO(request.substr(0, n));
    if (n <= line_end) {
      CHECK(needs_more(request.substr(0, n)));
    } else {
      CHECK(decided_as(request.substr(0, n), Protocol::kHttp1));
    }
  }
}

TEST_CASE("a bare LF ends the request line too", "[detect][http1]") {
  CHECK(decided_as("GET / HTTP/1.1\n", Protocol::kHttp1));
}

TEST_CASE("a line that starts like a request but names no HTTP/1 version is opaque",
          "[detect][http1]") {
  CHECK(decided_as("GET / HTTP/2.0\r\n", Protocol::kOpaque));
  CHECK(decided_as("GET / HTTP/3\r\n", Protocol::kOpaque));
  CHECK(decided_as("GET /\r\n", Protocol::kOpaque));  // HTTP/0.9 is not supported
  CHECK(decided_as("HELLO world\r\n", Protocol::kOpaque));
  CHECK(decided_as("EHLO mail.example.com\r\n", Protocol::kOpaque));  // SMTP
  CHECK(decided_as("AUTH password\n", Protocol::kOpaque));            // Redis inline command
}

TEST_CASE("garbage is opaque at once", "[detect][opaque]") {
  for (std::string_view b :
       {"\x00"sv, "\xff"sv, "\x01\x02\x03"sv, " GET / HTTP/1.1\r\n"sv, "\r\n"sv, "/index.html"sv,
        "GET\t/ HTTP/1.1\r\n"sv, "GET\r\n"sv, "{\"json\": true}"sv,
        "\x80\x00\x00\x28"sv /* ONC-RPC */, "\x4a\x00\x00\x00\x0a"sv /* MySQL server greeting */}) {
    INFO(std::string(b));
    CHECK(decided_as(b, Protocol::kOpaque));
  }
}

TEST_CASE("control bytes inside the request line make it opaque at once", "[detect][opaque]") {
  CHECK(decided_as("GET /\x01"sv, Protocol::kOpaque));
  CHECK(decided_as("GET /\x00 HTTP/1.1\r\n"sv, Protocol::kOpaque));
  CHECK(decided_as("GET /\x7f"sv, Protocol::kOpaque));
  CHECK(decided_as("GET /\x1b[0m"sv, Protocol::kOpaque));
  // A tab, a CR and bytes above 0x7f may still be part of a (malformed) request line: llhttp
  // judges those.
  CHECK(needs_more("GET /a\tb"));
  CHECK(needs_more("GET /caf\xc3\xa9"));
  CHECK(needs_more("GET / HTTP/1.1\r"));
}

TEST_CASE("a method token longer than 32 bytes is opaque, however it arrives", "[detect][http1]") {
  const std::string m32(32, 'A');
  const std::string m33(33, 'A');
  CHECK(needs_more(m32));
  CHECK(decided_as(m32 + " / HTTP/1.1\r\n", Protocol::kHttp1));
  CHECK(decided_as(m33, Protocol::kOpaque));
  CHECK(decided_as(m33 + " / HTTP/1.1\r\n", Protocol::kOpaque));
}

TEST_CASE("a request line that reaches max_bytes without ending is HTTP/1 (answered 431)",
          "[detect][http1]") {
  const std::string start = "GET /" + std::string(100, 'a');
  CHECK(needs_more(start, 200));
  CHECK(decided_as(start, Protocol::kHttp1, start.size()));
  CHECK(decided_as(start, Protocol::kHttp1, 16));
  CHECK(needs_more(start.substr(0, 15), 16));
}

// Regression: found by this suite in session 1 and fixed in src/.
TEST_CASE("a request line longer than max_bytes gets one verdict however it is split",
          "[detect][http1]") {
  const std::string line = "GET /" + std::string(2000, 'a') + " HTTP/1.1\r\n";
  Detection whole = detect(line, kMax);
  Detection first_read = detect(std::string_view(line).substr(0, kMax), kMax);
  REQUIRE(!whole.need_more);
  REQUIRE(!first_read.need_more);
  CHECK(whole.protocol == first_read.protocol);
  CHECK(whole.protocol == Protocol::kHttp1);
}

TEST_CASE("the HTTP/2 connection preface, whole and in part", "[detect][http2]") {
  CHECK(decided_as(kPreface, Protocol::kHttp2));
  CHECK(decided_as(std::string(kPreface) + "\x00\x00\x12\x04\x00\x00\x00\x00\x00"s,
                   Protocol::kHttp2));  // followed by a SETTINGS frame
  for (size_t n = 1; n < kPreface.size(); ++n) {
    INFO(kPreface.substr(0, n));
    CHECK(needs_more(kPreface.substr(0, n)));
  }
  // Close, but not the preface.
  CHECK(decided_as("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", Protocol::kOpaque));
  CHECK(decided_as("PRI * HTTP/1.1\r\n", Protocol::kHttp1));
  CHECK(decided_as("PUT / HTTP/1.1\r\n", Protocol::kHttp1));
  CHECK(decided_as("POST / HTTP/1.1\r\n", Protocol::kHttp1));
}

TEST_CASE("a TLS ClientHello, whole and in part", "[detect][tls]") {
  CHECK(decided_as(kClientHello, Protocol::kTls));
  CHECK(decided_as(kClientHello.substr(0, 6), Protocol::kTls));
  for (size_t n = 1; n < 6; ++n) {
    INFO(n);
    CHECK(needs_more(kClientHello.substr(0, n)));
  }
  // Every 3.x legacy record version.
  for (char minor : {'\x00', '\x01', '\x02', '\x03', '\x04'}) {
    std::string hello = kClientHello;
    hello[2] = minor;
    CHECK(decided_as(hello, Protocol::kTls));
  }
}

TEST_CASE("TLS records that are not a ClientHello are opaque", "[detect][tls]") {
  CHECK(decided_as("\x16\x03\x03\x00\x31\x02"sv, Protocol::kOpaque));  // ServerHello
  CHECK(decided_as("\x16\x03\x03\x00\x10\x0b"sv, Protocol::kOpaque));  // Certificate
  CHECK(decided_as("\x16\x02"sv, Protocol::kOpaque));                  // not version 3.x
  CHECK(decided_as("\x16\x16"sv, Protocol::kOpaque));
  CHECK(decided_as("\x17\x03\x03\x00\x20"sv, Protocol::kOpaque));          // application data
  CHECK(decided_as("\x15\x03\x03\x00\x02\x02\x28"sv, Protocol::kOpaque));  // alert
  CHECK(decided_as("\x14\x03\x03\x00\x01\x01"sv, Protocol::kOpaque));      // change cipher spec
}

TEST_CASE("a verdict never changes as more bytes arrive", "[detect]") {
  const std::string samples[] = {
      "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
      "POST /submit HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
      std::string(kPreface) + "\x00\x00\x00\x04\x00\x00\x00\x00\x00"s,
      kClientHello,
      "\x16\x03\x03\x00\x31\x02\x00"s,
      "SSH-2.0-OpenSSH_9.2\r\n",
      "EHLO mail.example.com\r\n",
      "*1\r\n$4\r\nPING\r\n",
      "PRI * HTTP/1.1\r\n\r\n",
      "GET / HTTP/2.0\r\n\r\n",
      std::string(40, 'X') + " / HTTP/1.1\r\n",
      "\x00\x00\x00\x08\x04\xd2\x16\x2f"s,  // PostgreSQL SSLRequest
  };
  for (const std::string& s : samples) {
    INFO(s);
    bool decided = false;
    Protocol verdict = Protocol::kOpaque;
    for (size_t n = 1; n <= s.size(); ++n) {
      Detection d = detect(std::string_view(s).substr(0, n));
      if (decided) {
        REQUIRE(!d.need_more);
        REQUIRE(d.protocol == verdict);
      } else if (!d.need_more) {
        decided = true;
        verdict = d.protocol;
      }
    }
    CHECK(decided);  // every sample is long enough to decide
  }
}

TEST_CASE("to_string names every protocol", "[detect]") {
  CHECK(to_string(Protocol::kHttp1) == "http1");
  CHECK(to_string(Protocol::kHttp2) == "http2");
  CHECK(to_string(Protocol::kTls) == "tls");
  CHECK(to_string(Protocol::kOpaque) == "opaque");
}

}  // namespace
}  // namespace lmesh::proxy
