// How a flag's text becomes a typed value, for the settings every binary shares (addresses,
// non-empty strings, booleans, durations, numbers, log settings). Each setter either stores
// the value or says what was wrong with it; config::apply_flags adds the flag's name.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/config/duration.h"
#include "common/log/log.h"
#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::config {

// "HOST:PORT"; a host name is resolved once, now.
Result<void> set_address(net::SocketAddress& out, std::string_view v);
// The same, for a destination that must have a port (0 is refused).
Result<void> set_optional_address(std::optional<net::SocketAddress>& out, std::string_view v);
// Strings and paths that must not be empty.
Result<void> set_string(std::string& out, std::string_view v);
// "true"/"1" or "false"/"0".
Result<void> set_bool(bool& out, std::string_view v);
Result<void> set_duration(std::chrono::milliseconds& out, std::string_view v);
Result<void> set_log_level(std::string& out, std::string_view v);
Result<void> set_log_format(log::Format& out, std::string_view v);

template <class T>
Result<void> set_number(T& out, std::string_view v, uint64_t min, uint64_t max) {
  auto n = parse_unsigned(v, min, max);
  if (!n) return fail(n.error());
  out = static_cast<T>(*n);
  return {};
}

}  // namespace lmesh::config
