#include "proxy/tap/tap_filter.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/text/ascii.h"

namespace lmesh::proxy {

namespace {

constexpr double kMinRps = 0.1;
constexpr double kMaxRps = 100000;
constexpr size_t kMaxAddresses = 1024;
constexpr size_t kMaxHeaders = 32;
// Copied into every event when present: enough to tell requests apart and spot gRPC.
constexpr std::string_view kDefaultHeaders[] = {"content-type", "user-agent", "x-request-id",
                                                "grpc-status"};

std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> items;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) items.push_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

Result<AddressMatch> parse_address(std::string_view text) {
  // An IP alone is tried first: "::1" must not read as host ":" and port 1.
  if (auto ip = net::SocketAddress::parse(std::string(text) + ":0");
      ip && text.find(']') == std::string_view::npos) {
    return AddressMatch{ip->ip(), std::nullopt};
  }
  if (auto bracketed = net::SocketAddress::parse("[" + std::string(text) + "]:0")) {
    return AddressMatch{bracketed->ip(), std::nullopt};
  }
  auto full = net::SocketAddress::parse(text);
  if (!full) return fail(ErrorCode::kInvalidArgument, "not an IP or IP:port: " + std::string(text));
  return AddressMatch{full->ip(), full->port()};
}

Result<void> set_field(TapFilter& filter, std::string_view key, std::string_view value) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kInvalidArgument, std::string(key) + ": " + std::string(why));
  };
  if (key == "direction") {
    if (value == "inbound") {
      filter.direction = Direction::kInbound;
    } else if (value == "outbound") {
      filter.direction = Direction::kOutbound;
    } else {
      return bad("must be inbound or outbound");
    }
  } else if (key == "authority") {
    filter.authority = text::ascii_lower(value);
  } else if (key == "path_prefix") {
    if (!value.empty() && value.front() != '/') return bad("must start with /");
    filter.path_prefix = value;
  } else if (key == "method") {
    filter.method = value;
  } else if (key == "source" || key == "destination") {
    auto& list = key == "source" ? filter.sources : filter.destinations;
    list.clear();
    for (std::string_view item : split_list(value)) {
      auto address = parse_address(item);
      if (!address) return bad(address.error().message());
      list.push_back(std::move(*address));
    }
    if (list.size() > kMaxAddresses) return bad("more than 1024 addresses");
  } else if (key == "client_id") {
    filter.client_id = value;
  } else if (key == "server_id") {
    filter.server_id = value;
  } else if (key == "max_rps") {
    double rps = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), rps);
    if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(rps) ||
        rps < kMinRps || rps > kMaxRps) {
      return bad("must be a number from 0.1 to 100000");
    }
    filter.max_rps = rps;
  } else if (key == "headers") {
    for (std::string_view name : split_list(value)) {
      std::string lower = text::ascii_lower(name);
      if (std::ranges::find(filter.headers, lower) == filter.headers.end())
        filter.headers.push_back(std::move(lower));
    }
    if (filter.headers.size() > kMaxHeaders) return bad("more than 32 header names");
  } else {
    return fail(ErrorCode::kInvalidArgument, "unknown filter key: " + std::string(key));
  }
  return {};
}

Result<void> apply_body(TapFilter& filter, std::string_view body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return fail(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  for (const auto& [key, value] : json.items()) {
    std::string text;
    if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_number()) {
      text = value.dump();
    } else if (value.is_array()) {
      // Address and header lists may come as arrays of strings.
      for (const auto& item : value) {
        if (!item.is_string())
          return fail(ErrorCode::kInvalidArgument, key + ": must be a list of strings");
        if (!text.empty()) text += ',';
        text += item.get<std::string>();
      }
    } else {
      return fail(ErrorCode::kInvalidArgument, key + ": must be a string");
    }
    if (auto ok = set_field(filter, key, text); !ok) return ok;
  }
  return {};
}

bool any_matches(const std::vector<AddressMatch>& list, const net::SocketAddress* address) {
  if (list.empty()) return true;
  if (address == nullptr) return false;
  return std::ranges::any_of(list, [&](const AddressMatch& m) { return m.matches(*address); });
}

bool authority_matches(std::string_view wanted, std::string_view authority) {
  if (wanted.empty()) return true;
  if (authority.size() < wanted.size()) return false;
  auto equal_nocase = [](std::string_view a, std::string_view lower) {
    return std::ranges::equal(
        a, lower, [](unsigned char x, unsigned char y) { return std::tolower(x) == y; });
  };
  if (authority.size() == wanted.size()) return equal_nocase(authority, wanted);
  // "web" matches "web:8080": a host alone stands for every port.
  return wanted.find(':') == std::string_view::npos && authority[wanted.size()] == ':' &&
         equal_nocase(authority.substr(0, wanted.size()), wanted);
}

}  // namespace

bool AddressMatch::matches(const net::SocketAddress& address) const {
  return (!port || *port == address.port()) && address.ip() == ip;
}

bool TapFilter::may_match(const TapRequestView& r) const {
  return (!direction || *direction == r.direction) && (method.empty() || method == r.method) &&
         r.path.starts_with(path_prefix) && authority_matches(authority, r.authority) &&
         any_matches(sources, r.source) && (client_id.empty() || client_id == r.client_id);
}

bool TapFilter::matches(const TapRequestView& r) const {
  return may_match(r) && any_matches(destinations, r.destination) &&
         (server_id.empty() || server_id == r.server_id);
}

Result<TapFilter> parse_tap_filter(const api::QueryParams& query, std::string_view body) {
  TapFilter filter;
  for (std::string_view name : kDefaultHeaders) filter.headers.emplace_back(name);
  for (const auto& [key, value] : query) {
    if (auto ok = set_field(filter, key, value); !ok) return fail(ok.error());
  }
  if (!body.empty()) {
    if (auto ok = apply_body(filter, body); !ok) return fail(ok.error());
  }
  return filter;
}

}  // namespace lmesh::proxy
