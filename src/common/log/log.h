// Process-wide logging set-up: spdlog to stderr, one line per event, in text or JSON.
// Code logs through spdlog's free functions (spdlog::info(...)) in .cc files only, so the
// heavy spdlog/fmt headers stay out of headers that many files include.
#pragma once

#include <string_view>

#include "common/result.h"

namespace lmesh::log {

enum class Format { kText, kJson };

Result<Format> parse_format(std::string_view text);
// Accepts trace, debug, info, warn, error, off.
Result<void> check_level(std::string_view level);

// Installs the default logger. `program` names the process in every line.
Result<void> init(std::string_view program, Format format, std::string_view level);

}  // namespace lmesh::log
