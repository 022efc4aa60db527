// Durations and sizes as written in flags and environment variables: "500ms", "10s", "5m",
// "1h"; "0" alone means "disabled". Shared by every binary's configuration parser.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace lmesh::config {

Result<std::chrono::milliseconds> parse_duration(std::string_view text);
Result<uint64_t> parse_unsigned(std::string_view text, uint64_t min, uint64_t max);

}  // namespace lmesh::config
