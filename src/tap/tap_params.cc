#include "tap/tap_params.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

namespace lmesh::tap {
namespace {

Error bad(std::string_view key, std::string_view why) {
  return Error(ErrorCode::kInvalidArgument, "bad " + std::string(key) + ": " + std::string(why));
}

// An HTTP method is a token (RFC 9110 §5.6.2); upper-case letters cover every real one.
bool valid_method(std::string_view m) {
  return !m.empty() && m.size() <= 32 &&
         std::all_of(m.begin(), m.end(), [](char c) { return (c >= 'A' && c <= 'Z') || c == '-'; });
}

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c != 0x7f; });
}

Result<double> parse_rps(std::string_view v) {
  double rps = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), rps);
  if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(rps)) {
    return fail(bad("max_rps", "'" + std::string(v) + "' is not a number"));
  }
  if (rps < kMinMaxRps || rps > kMaxMaxRps) {
    return fail(bad("max_rps", "must be between 0.1 and 100000"));
  }
  return rps;
}

Result<void> apply(TapParams& p, bool& has_target, std::string_view key, std::string_view v) {
  if (key == "target") {
    auto t = parse_target(v);
    if (!t) return fail(bad("target", t.error().message()));
    p.target = std::move(*t);
    has_target = true;
  } else if (key == "to") {
    auto t = parse_target(v);
    if (!t) return fail(bad("to", t.error().message()));
    p.to = std::move(*t);
  } else if (key == "namespace" || key == "to_namespace") {
    if (!valid_namespace(v)) return fail(bad(key, "'" + std::string(v) + "' is not a namespace"));
    (key == "namespace" ? p.namespace_ : p.to_namespace) = std::string(v);
  } else if (key == "method") {
    if (!valid_method(v)) return fail(bad("method", "'" + std::string(v) + "' is not a method"));
    p.method = std::string(v);
  } else if (key == "path_prefix") {
    if (!v.starts_with('/') || !printable(v)) return fail(bad("path_prefix", "must start with /"));
    p.path_prefix = std::string(v);
  } else if (key == "authority") {
    if (v.empty() || !printable(v)) return fail(bad("authority", "must be host or host:port"));
    p.authority = std::string(v);
  } else if (key == "max_rps") {
    auto rps = parse_rps(v);
    if (!rps) return fail(rps.error());
    p.max_rps = *rps;
  } else {
    // Refused rather than ignored: a misspelt filter would otherwise tap everything.
    return fail(Error(ErrorCode::kInvalidArgument, "unknown parameter " + std::string(key)));
  }
  return {};
}

}  // namespace

Result<TapParams> parse_tap_params(const api::QueryParams& query) {
  TapParams p;
  bool has_target = false;
  for (const auto& [key, value] : query) {
    if (auto ok = apply(p, has_target, key, value); !ok) return fail(ok.error());
  }
  if (!has_target) return fail(bad("target", "the target parameter (e.g. deploy/web) is required"));
  if (!p.to && std::any_of(query.begin(), query.end(),
                           [](const auto& kv) { return kv.first == "to_namespace"; })) {
    return fail(bad("to_namespace", "applies to a to= target only"));
  }
  return p;
}

std::string percent_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~';
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string proxy_tap_target(const TapParams& params, size_t proxies,
                             const std::vector<std::string>& to_ips) {
  // Each proxy gets an equal share, never below the proxy's minimum; the tap service enforces
  // the total again, since the proxies' budgets are independent.
  double share = params.max_rps / static_cast<double>(std::max<size_t>(proxies, 1));
  share = std::max(share, kMinMaxRps);
  std::string out = "/tap?max_rps=" + fmt::format("{:g}", share);
  auto add = [&out](std::string_view key, std::string_view value) {
    if (value.empty()) return;
    out.append("&").append(key).append("=").append(percent_encode(value));
  };
  add("method", params.method);
  add("path_prefix", params.path_prefix);
  add("authority", params.authority);
  if (params.to) {
    std::string list;
    for (const std::string& ip : to_ips) {
      if (!list.empty()) list += ',';
      list += ip;
    }
    add("direction", "outbound");
    add("destination", list);
  }
  return out;
}

}  // namespace lmesh::tap
