// A service's profile (DESIGN.md "Wire API", GET /v1/profile): how the proxy treats requests
// to it. Routes classify requests (method, path regex, headers) and carry the per-route policy
// (retryable, timeout, which statuses are failures, fault injection, mirroring, backends for
// header/path routing); the service carries its retry budget and its traffic split.
//
// A Profile is an immutable snapshot: parsed once (regular expressions compiled then), shared
// by every worker through a shared_ptr<const Profile>.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/discovery/field_error.h"

namespace re2 {
class RE2;
}

namespace lmesh::discovery {

// Route patterns are RE2 (Debian's libre2): matching takes time linear in the input whatever
// the pattern, so a profile cannot make the request path slow (std::regex backtracks, and can
// exhaust the stack on a long path).
using Regex = re2::RE2;
// The whole of `text` matches.
bool full_match(const Regex& regex, std::string_view text);

// A weighted share of a service's traffic sent to another service (canary, blue-green).
struct Backend {
  std::string authority;  // host:port, resolved like any authority
  uint32_t weight = 1;
};

struct HeaderMatch {
  std::string name;   // lowercase
  std::string value;  // exact value, when `regex` is null
  std::shared_ptr<const Regex> regex;
};

struct StatusRange {
  int min = 500;
  int max = 599;
};

struct ResponseClass {
  StatusRange status;
  bool failure = true;
};

// Percentages are 0..100 of the requests the route sees.
struct Fault {
  double delay_percent = 0;
  uint32_t delay_ms = 0;
  double abort_percent = 0;
  int abort_status = 503;
};

// A copy of `percent` of the route's requests goes to `authority`; its answer is dropped.
struct Mirror {
  std::string authority;
  double percent = 100;
};

struct Route {
  std::string name;        // the route label in metrics
  std::string method;      // empty: any method
  std::string path_regex;  // empty: any path; otherwise it must match the whole path
  std::shared_ptr<const Regex> path;
  std::vector<HeaderMatch> headers;  // all must match

  bool retryable = false;
  uint32_t timeout_ms = 0;  // 0: no route timeout
  // First matching class decides; none matches: 5xx is a failure, anything else a success.
  std::vector<ResponseClass> response_classes;
  std::vector<Backend> backends;  // empty: the service's split
  std::optional<Fault> fault;
  std::optional<Mirror> mirror;

  bool is_failure(int status) const;
};

// Retries may add at most `ratio` of the recent requests (over `ttl_s` seconds) plus
// `min_per_second`, so a failing service sees a bounded amplification (Linkerd's budget).
struct RetryBudget {
  double ratio = 0.2;
  uint32_t min_per_second = 10;
  uint32_t ttl_s = 10;
};

struct Profile {
  std::vector<Route> routes;  // first match wins
  RetryBudget retry_budget;
  std::vector<Backend> backends;  // traffic split; empty: the service itself

  // The first route that names no method, path or header matches everything; requests that
  // match no route get no route policy (the "default" route label).
  const Route* route_for(std::string_view method, std::string_view path,
                         const auto& header_lookup) const {
    for (const Route& r : routes) {
      if (!r.method.empty() && r.method != method) continue;
      if (r.path && !full_match(*r.path, path)) continue;
      bool headers_match = true;
      for (const HeaderMatch& h : r.headers) {
        std::optional<std::string_view> v = header_lookup(h.name);
        if (!v || (h.regex ? !full_match(*h.regex, *v) : *v != h.value)) {
          headers_match = false;
          break;
        }
      }
      if (headers_match) return &r;
    }
    return nullptr;
  }
};

constexpr size_t kMaxRoutes = 1000;
constexpr uint32_t kMaxTimeoutMs = 3'600'000;

nlohmann::json to_json(const Profile& profile);
// `pointer` is where the profile sits in a larger document ("" for a /v1/profile line).
Parsed<Profile> parse_profile(const nlohmann::json& value, const std::string& pointer = "");
Parsed<Profile> parse_profile_line(std::string_view line);
Parsed<std::vector<Backend>> parse_backends(const nlohmann::json& value,
                                            const std::string& pointer);

}  // namespace lmesh::discovery
