// The commands' conversation with lmesh-tap: one loop, one request, HTTP/1.1. The stream is a
// single long request per run, so HTTP/2's multiplexing would buy nothing, and every lmesh
// service answers HTTP/1.1 (DESIGN.md "Wire API").
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/net/socket_address.h"

namespace lmesh::cli {

struct StreamHandlers {
  std::function<void(std::string_view line)> on_line;  // one event, without its newline
  // Called every `tick_every` while the stream runs, when both are set (`top`'s redraws).
  std::chrono::milliseconds tick_every{0};
  std::function<void()> on_tick;
};

// Follows GET `target` until the stream ends or SIGINT (returns 0), or until lmesh-tap cannot
// be reached, refuses the request or breaks the stream (prints "`command`: why" on stderr and
// returns 1). Unlike api::Client's watches, it never reconnects: a person is watching.
int follow_tap_stream(std::string_view command, const net::HostPort& server,
                      const std::string& target, StreamHandlers handlers);

// One GET; the body of a 200 answer, or nothing after printing "`command`: why" on stderr.
std::optional<std::string> fetch_from_tap(std::string_view command, const net::HostPort& server,
                                          const std::string& target);

}  // namespace lmesh::cli
