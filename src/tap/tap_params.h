// The parameters of GET /v1/tap (README.md), checked, and the filter that each proxy's
// GET /tap is asked with.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/api/request.h"
#include "common/result.h"
#include "tap/target.h"

namespace lmesh::tap {

inline constexpr double kDefaultMaxRps = 100;
inline constexpr double kMinMaxRps = 0.1;
inline constexpr double kMaxMaxRps = 100'000;

struct TapParams {
  Target target;
  std::string namespace_ = "default";
  std::optional<Target> to;
  std::string to_namespace = "default";
  std::string method;
  std::string path_prefix;
  std::string authority;
  double max_rps = kDefaultMaxRps;  // for the whole tap
};

// A bad or unknown parameter is an error whose message names it (the 400's detail).
Result<TapParams> parse_tap_params(const api::QueryParams& query);

// The request target of one proxy's GET /tap: the filters, `to` as the IPs of its pods
// (outbound: a destination is known on that side only), and an equal share of max_rps.
std::string proxy_tap_target(const TapParams& params, size_t proxies,
                             const std::vector<std::string>& to_ips);

// RFC 3986 percent-encoding of a query component (unreserved characters kept).
std::string percent_encode(std::string_view text);

}  // namespace lmesh::tap
