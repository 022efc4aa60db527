#pragma once

#include <string_view>

namespace lmesh::proxy {

// Which side of the workload a connection belongs to (see the glossary in README.md).
enum class Direction { kInbound, kOutbound };

inline std::string_view to_string(Direction d) {
  return d == Direction::kInbound ? "inbound" : "outbound";
}

}  // namespace lmesh::proxy
