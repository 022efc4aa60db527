#include "proxy/detect/protocol.h"

namespace lmesh::proxy {
namespace {

constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// RFC 9110 §5.6.2 token characters: what a method may be made of.
bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// True while `got` is a prefix of `want` or the other way round.
bool prefix_compatible(std::string_view got, std::string_view want) {
  size_t n = got.size() < want.size() ? got.size() : want.size();
  return got.substr(0, n) == want.substr(0, n);
}

Detection more() { return {true, Protocol::kOpaque}; }
Detection decided(Protocol p) { return {false, p}; }

// request-line = method SP request-target SP HTTP-version CRLF (RFC 9112 §3).
Detection detect_http1(std::string_view b, size_t max_bytes) {
  size_t i = 0;
  while (i < b.size() && is_tchar(static_cast<unsigned char>(b[i]))) ++i;
  if (i == b.size()) return i > 32 ? decided(Protocol::kOpaque) : more();  // method still coming
  if (i == 0 || b[i] != ' ') return decided(Protocol::kOpaque);
  ++i;
  size_t target_start = i;
  while (i < b.size() && static_cast<unsigned char>(b[i]) > ' ' && b[i] != 0x7f) ++i;
  if (i == b.size()) return b.size() >= max_bytes ? decided(Protocol::kOpaque) : more();
  if (i == target_start || b[i] != ' ') return decided(Protocol::kOpaque);
  ++i;
  std::string_view version = b.substr(i);
  constexpr std::string_view kVersion = "HTTP/1.";
  if (!prefix_compatible(version, kVersion)) return decided(Protocol::kOpaque);
  if (version.size() <= kVersion.size()) return more();
  char minor = version[kVersion.size()];
  if (minor != '0' && minor != '1') return decided(Protocol::kOpaque);
  std::string_view rest = version.substr(kVersion.size() + 1);
  if (!prefix_compatible(rest, "\r\n")) return decided(Protocol::kOpaque);
  return rest.size() < 2 ? more() : decided(Protocol::kHttp1);
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
