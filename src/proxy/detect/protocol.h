// Protocol detection from the first bytes a client sends (DESIGN.md: "detect").
//
// Pure function over a byte prefix, so it is unit-tested and fuzzed without sockets. It
// answers as soon as the prefix decides (one byte is often enough to say "opaque") and asks
// for more only while the bytes are still a plausible start of HTTP/1, HTTP/2 or TLS.
#pragma once

#include <cstddef>
#include <string_view>

namespace lmesh::proxy {

enum class Protocol {
  kHttp1,   // an HTTP/1.x request line
  kHttp2,   // the HTTP/2 connection preface (RFC 9113 §3.4)
  kTls,     // a TLS handshake record carrying a ClientHello (RFC 8446 §5.1)
  kOpaque,  // anything else: relayed as bytes
};

std::string_view to_string(Protocol p);

struct Detection {
  bool need_more = false;  // the prefix is a plausible start; read more (or time out)
  Protocol protocol = Protocol::kOpaque;
};

// `max_bytes`: the longest request line worth waiting for (the proxy's head limit). A line that
// starts like a request and reaches it is HTTP/1, so that the oversized head is answered 431.
Detection detect_protocol(std::string_view prefix, size_t max_bytes);

}  // namespace lmesh::proxy
