// One line of lmesh-tap's GET /v1/tap stream (src/tap/README.md), as typed fields. Fields an
// event kind does not carry stay empty or zero; unknown fields are ignored, so that the
// service may add some without breaking older CLIs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace lmesh::cli {

enum class TapEventKind {
  kRequestInit,
  kResponseInit,
  kResponseEnd,
  kDropped,
  kProxyError,
  kUnknown,  // a kind this CLI does not know yet: skipped
};

// The proxy that saw the event, added by lmesh-tap; empty for the tap service's own events.
struct TapProxy {
  std::string pod;
  std::string namespace_name;
  std::string workload;
};

struct TapEvent {
  TapEventKind kind = TapEventKind::kUnknown;
  std::string id;  // "<worker>:<sequence>", unique per proxy run only
  TapProxy proxy;
  // request_init
  std::string direction;  // "inbound" | "outbound"
  std::string source;
  std::string destination;
  std::string tls;
  std::string method;
  std::string authority;
  std::string path;
  // response_init
  int status = 0;
  uint64_t latency_us = 0;
  // response_end
  uint64_t duration_us = 0;
  uint64_t response_bytes = 0;
  std::optional<int> grpc_status;  // absent for non-gRPC responses
  std::string reset;
  std::string error;  // response_end's proxy error, or proxy_error's reason
  // dropped
  uint64_t count = 0;
};

// Fails (kProtocol) only for a line that is not a JSON object or has no string "kind".
Result<TapEvent> parse_tap_event(std::string_view line);

// The key under which a request's later events find its request_init: ids repeat across
// proxies, so the proxy is part of it.
std::string request_key(const TapEvent& event);

}  // namespace lmesh::cli
