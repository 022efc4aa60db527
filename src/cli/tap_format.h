// `lmesh tap`'s text output: Linkerd's tap line format, one line per event, e.g.
//   req id=1:42 proxy=out src=127.0.0.1:50412 dst=198.18.0.12:8080 tls=true :method=GET ...
// Pure: events in, lines out; the command does the I/O.
#pragma once

#include <optional>
#include <string>

#include "cli/request_table.h"
#include "cli/tap_event.h"

namespace lmesh::cli {

struct TapFormatOptions {
  bool wide = false;    // -o wide: the proxy's pod and namespace at the end of each line
  bool colour = false;  // ANSI red for failed responses (stdout is a terminal, no NO_COLOR)
};

struct TapLine {
  std::string text;        // without its newline
  bool to_stderr = false;  // notes about the tap itself (drops, proxies that failed)
};

class TapFormatter {
 public:
  explicit TapFormatter(TapFormatOptions options,
                        size_t max_pending = RequestTable::kDefaultCapacity)
      : options_(options), pending_(max_pending) {}

  // The line for `event`; nothing for kinds this CLI does not know.
  std::optional<TapLine> format(const TapEvent& event);

  size_t pending() const { return pending_.size(); }

 private:
  std::string common_fields(const TapEvent& event, const TapEvent* request) const;
  std::string finish(std::string line, const TapEvent& event, bool failed) const;

  TapFormatOptions options_;
  RequestTable pending_;
};

// gRPC status codes by the names Linkerd prints (Go's codes.Code.String()): 0 → "OK",
// 14 → "Unavailable", unknown → "Code(99)".
std::string grpc_status_name(int code);

// "µs" figures as Linkerd prints them.
std::string micros(uint64_t us);

// A value as it goes into a `key=value` field: quoted when it has spaces, quotes or is empty,
// so that the line still splits on spaces.
std::string field_value(std::string_view value);

// "# proxy web-1 (default): " or "# " for the tap service's own notes.
std::string note_prefix(const TapProxy& proxy);

}  // namespace lmesh::cli
