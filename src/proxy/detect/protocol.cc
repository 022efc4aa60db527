#include "proxy/detect/protocol.h"

namespace lmesh::proxy {
namespace {

constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// RFC 9110 §5.6.2 token characters: what a method may be made of.
bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~': return true;
    default: return false;
  }
}

// True while `got` is a prefix of `want` or the other way round.
bool prefix_compatible(std::string_view got, std::string_view want) {
  size_t n = got.size() < want.size() ? got.size() : want.size();
  return got.substr(0, n) == want.substr(0, n);
}

Detection more() {
  return {true, Protocol::kOpaque};
}
Detection decided(Protocol p) {
  return {false, p};
}

// A request line is `method SP request-target SP HTTP-version CRLF` (RFC 9112 §3). Detection
// is deliberately looser than that: a line that starts with a method token and a space and
// names "HTTP/1." is an attempt at HTTP/1, so llhttp gets to judge it (and a malformed one is
// answered 400) instead of being relayed unexamined. This is also how linkerd2-proxy decides.
Detection detect_http1(std::string_view b, size_t max_bytes) {
  size_t i = 0;
  while (i < b.size() && is_tchar(static_cast<unsigned char>(b[i]))) ++i;
  constexpr size_t kLongestMethod = 32;
  if (i > kLongestMethod) return decided(Protocol::kOpaque);
  if (i == b.size()) return more();  // the method is still coming
  if (i == 0 || b[i] != ' ') return decided(Protocol::kOpaque);
  for (++i; i < b.size(); ++i) {
    // A method, a space and max_bytes of request-line bytes: an HTTP/1 request whose head is
    // too large, which the HTTP/1 server answers with 431. The same verdict however the bytes
    // were split.
    if (i >= max_bytes) return decided(Protocol::kHttp1);
    auto c = static_cast<unsigned char>(b[i]);
    if (c == '\n') {
      std::string_view line = b.substr(0, i);
      return decided(line.find(" HTTP/1.") != std::string_view::npos ? Protocol::kHttp1
                                                                     : Protocol::kOpaque);
    }
    // Bytes no request line holds: binary protocols give themselves away early.
    if ((c < 0x20 && c != '\r' && c != '\t') || c == 0x7f) return decided(Protocol::kOpaque);
  }
  return b.size() >= max_bytes ? decided(Protocol::kHttp1) : more();
}

}  // namespace

std::string_view to_string(Protocol p) {
  switch (p) {
    case Protocol::kHttp1: return "http1";
    case Protocol::kHttp2: return "http2";
    case Protocol::kTls: return "tls";
    case Protocol::kOpaque: return "opaque";
  }
  return "opaque";
}

Detection detect_protocol(std::string_view b, size_t max_bytes) {
  if (b.empty()) return more();
  auto byte = [&](size_t i) { return static_cast<unsigned char>(b[i]); };

  // TLS: handshake record (22), legacy version 3.x, then a ClientHello (handshake type 1).
  if (byte(0) == 0x16) {
    if (b.size() < 2) return more();
    if (byte(1) != 0x03) return decided(Protocol::kOpaque);
    if (b.size() < 6) return more();
    return decided(byte(5) == 0x01 ? Protocol::kTls : Protocol::kOpaque);
  }

  if (byte(0) == 'P' && prefix_compatible(b, kH2Preface)) {
    if (b.size() < kH2Preface.size()) return more();
    return decided(Protocol::kHttp2);
  }

  return detect_http1(b, max_bytes);
}

}  // namespace lmesh::proxy
