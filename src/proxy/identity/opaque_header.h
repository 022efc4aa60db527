// The header that opens an opaque TCP connection between proxies (ALPN lmesh.io/opaque-v1):
// the port the application connected to, so that the inbound proxy knows where to relay
// without detecting anything. It travels inside the TLS session, as the first plaintext
// bytes: "port=<1..65535>\n".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace lmesh::proxy {

inline constexpr size_t kMaxOpaqueHeaderBytes = 16;

std::string opaque_header(uint16_t port);

struct OpaqueHeader {
  uint16_t port;
  size_t length;  // bytes of the header, newline included
};
// The header at the front of `bytes`: nullopt while it is incomplete, an error when it is
// malformed or longer than kMaxOpaqueHeaderBytes.
Result<std::optional<OpaqueHeader>> parse_opaque_header(std::string_view bytes);

}  // namespace lmesh::proxy
