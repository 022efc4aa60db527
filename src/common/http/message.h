// The heads of HTTP messages, independent of the wire version. HTTP/1 fills them from llhttp;
// HTTP/2 will fill them from nghttp2, so one router sees one model (issue: HTTP/2 everywhere).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/http/headers.h"

namespace lmesh::http {

// How a message's body is delimited on an HTTP/1 wire (RFC 9112 §6.3).
enum class BodyFraming {
  kNone,           // no body (GET without length, HEAD responses, 204, 304)
  kContentLength,  // exactly content_length bytes
  kChunked,        // chunked transfer coding
  kUntilClose,     // response read until the connection closes
};

struct RequestHead {
  std::string method{};
  std::string target{};  // as sent: origin-form, absolute-form or authority-form
  // HTTP/2's :authority and :scheme (RFC 9113 §8.3.1); empty for HTTP/1, which carries the
  // authority in Host or the target.
  std::string authority{};
  std::string scheme{};
  uint8_t version_major = 1;
  uint8_t version_minor = 1;
  HeaderMap headers;
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;  // the client wants the connection kept after this exchange
  bool upgrade = false;    // Connection: upgrade + Upgrade (e.g. WebSocket)

  void clear();
};

struct ResponseHead {
  uint16_t status = 0;
  std::string reason{};
  uint8_t version_major = 1;
  uint8_t version_minor = 1;
  HeaderMap headers;
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;  // the server will keep the connection after this response

  bool informational() const { return status >= 100 && status < 200; }
  void clear();
};

}  // namespace lmesh::http
