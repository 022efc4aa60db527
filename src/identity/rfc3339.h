// RFC 3339 timestamps, as the certify API's "expires" field and the token file's expires=
// attribute write them. libstdc++ 12 has no std::chrono::parse, hence this small file.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace lmesh::identity {

// "2025-01-02T03:04:05Z": UTC, whole seconds (what the API returns).
std::string format_rfc3339(std::chrono::system_clock::time_point t);

// RFC 3339 §5.6 date-time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"; 'T' and 'Z' may be
// lower case. Fractions are dropped; times beyond system_clock's range (2262) are clamped to
// its end. nullopt if `text` is not one.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace lmesh::identity
