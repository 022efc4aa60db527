#include "proxy/identity/opaque_header.h"

#include <algorithm>
#include <charconv>

namespace lmesh::proxy {

std::string opaque_header(uint16_t port) {
  return "port=" + std::to_string(port) + "\n";
}

Result<std::optional<OpaqueHeader>> parse_opaque_header(std::string_view bytes) {
  constexpr std::string_view kPrefix = "port=";
  size_t end = bytes.find('\n');
  if (end == std::string_view::npos) {
    if (bytes.size() >= kMaxOpaqueHeaderBytes) {
      return fail(ErrorCode::kProtocol, "opaque header too long");
    }
    // Incomplete, but already wrong if it does not start as a header does.
    if (bytes.substr(0, kPrefix.size()) !=
        kPrefix.substr(0, std::min(bytes.size(), kPrefix.size()))) {
      return fail(ErrorCode::kProtocol, "not an opaque header");
    }
    return std::nullopt;
  }
  std::string_view line = bytes.substr(0, end);
  if (!line.starts_with(kPrefix)) return fail(ErrorCode::kProtocol, "not an opaque header");
  line.remove_prefix(kPrefix.size());
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), port);
  if (ec != std::errc() || ptr != line.data() + line.size() || port == 0 || port > 65535) {
    return fail(ErrorCode::kProtocol, "bad port in opaque header");
  }
  return OpaqueHeader{static_cast<uint16_t>(port), end + 1};
}

}  // namespace lmesh::proxy
