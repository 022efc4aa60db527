// A request to a control-API endpoint, as its handler sees it: the same for HTTP/1.1 and
// HTTP/2 clients (DESIGN.md "Wire API").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/headers.h"
#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::api {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;
  std::string path;  // without the query string
  QueryParams query;
  const http::HeaderMap* headers = nullptr;  // valid during the handler call only
  std::string body;
  net::SocketAddress peer;
  // The mesh identity the client proved over TLS: the DNS SAN of a client certificate the
  // handshake verified against the server's trust anchors. Empty for plaintext and for TLS
  // clients without one.
  std::string peer_identity;

  // The first value of a query parameter, if present.
  std::optional<std::string_view> param(std::string_view name) const;
};

// Splits "a=1&b=x%20y" into decoded pairs ('+' is a space, RFC 3986 percent-escapes).
Result<QueryParams> parse_query(std::string_view query);
// Splits a request target into path and decoded query.
Result<std::pair<std::string, QueryParams>> split_target(std::string_view target);

}  // namespace lmesh::api
