// Which requests one tap subscriber wants to see (src/tap/README.md "Proxy GET /tap"): parsed
// once when the tap opens, then matched on a worker for every request while a tap is active.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/api/request.h"
#include "common/net/socket_address.h"
#include "common/result.h"
#include "proxy/direction.h"

namespace lmesh::proxy {

// `IP` (any port) or `IP:port`, as an address filter names it.
struct AddressMatch {
  std::string ip;
  std::optional<uint16_t> port;

  bool matches(const net::SocketAddress& address) const;
};

// What a request looks like to the filter. The head's fields are known when the request
// starts; the destination and the server's identity only once an endpoint is picked.
struct TapRequestView {
  Direction direction;
  std::string_view authority;
  std::string_view path;
  std::string_view method;
  const net::SocketAddress* source = nullptr;
  const net::SocketAddress* destination = nullptr;
  std::string_view client_id;
  std::string_view server_id;
};

struct TapFilter {
  // Empty fields match everything.
  std::optional<Direction> direction;
  std::string authority;  // lowercased; without a port it matches any port
  std::string path_prefix;
  std::string method;
  std::vector<AddressMatch> sources;
  std::vector<AddressMatch> destinations;
  std::string client_id;
  std::string server_id;
  double max_rps = 100;
  // Lowercased names of the header fields copied into events (the defaults included).
  std::vector<std::string> headers;

  // The head alone can rule a request out: the cheap test a worker makes before it copies
  // anything.
  bool may_match(const TapRequestView& request) const;
  // Everything, the endpoint included.
  bool matches(const TapRequestView& request) const;
};

// The filter from a request's query parameters or its JSON body (the body wins when both
// are given). An unknown key or a bad value fails naming it.
Result<TapFilter> parse_tap_filter(const api::QueryParams& query, std::string_view body);

}  // namespace lmesh::proxy
