// ASCII-only text helpers: protocol names (HTTP methods aside), DNS names and Kubernetes kinds
// are compared case-insensitively in ASCII, never by locale.
#pragma once

#include <string>
#include <string_view>

namespace lmesh::text {

inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace lmesh::text
