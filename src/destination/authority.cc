#include "destination/authority.h"

#include <charconv>

#include "common/discovery/json_fields.h"
#include "common/net/socket_address.h"

namespace lmesh::destination {
namespace {

constexpr size_t kMaxHostBytes = 253;  // RFC 1035 §2.3.4, without the root dot

std::unexpected<Error> bad(std::string_view text, std::string_view why) {
  return fail(ErrorCode::kInvalidArgument,
              "authority \"" + std::string(text) + "\" " + std::string(why));
}

// Letters, digits, '-', '_' (seen in Kubernetes names and SRV-style labels) and '.', with no
// empty label.
bool valid_dns_name(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostBytes) return false;
  if (host.front() == '.' || host.find("..") != std::string_view::npos) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<std::string> normalize_authority(std::string_view text) {
  if (text.empty()) return bad(text, "is empty (expected host:port)");
  size_t colon = text.rfind(':');
  bool bracketed = text.front() == '[';
  if (colon == std::string_view::npos || (bracketed && colon < text.find(']'))) {
    return bad(text, "has no port (expected host:port)");
  }
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port == 0 || port > 65535) {
    return bad(text, "has no valid port (expected host:port, port 1-65535)");
  }
  if (bracketed) {
    // An IPv6 literal: SocketAddress gives its one canonical spelling ("[::1]:80").
    auto address = net::SocketAddress::parse(text);
    if (!address) return bad(text, "is not a valid [IPv6]:port");
    return address->to_string();
  }
  std::string host(text.substr(0, colon));
  if (host.find(':') != std::string::npos) {
    return bad(text, "has an IPv6 host without brackets (expected [ip]:port)");
  }
  for (char& c : host) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (host.size() > 1 && host.back() == '.') host.pop_back();  // "svc.cluster.local." is the same
  if (!valid_dns_name(host)) {
    return bad(text, "has an invalid host (letters, digits, '-', '_' and '.' only)");
  }
  return host + ":" + std::to_string(port);
}

namespace {

discovery::Parsed<void> normalize_target(std::string& authority, const std::string& pointer) {
  auto normalized = normalize_authority(authority);
  if (!normalized) {
    return discovery::fields::bad(pointer,
                                  "must be host:port (" + normalized.error().message() + ")");
  }
  authority = std::move(*normalized);
  return {};
}

}  // namespace

discovery::Parsed<void> normalize_profile_targets(discovery::Profile& p, const std::string& at) {
  using discovery::fields::child;
  for (size_t i = 0; i < p.backends.size(); ++i) {
    auto ok = normalize_target(p.backends[i].authority,
                               child(child(child(at, "backends"), i), "authority"));
    if (!ok) return ok;
  }
  for (size_t r = 0; r < p.routes.size(); ++r) {
    discovery::Route& route = p.routes[r];
    std::string rat = child(child(at, "routes"), r);
    for (size_t i = 0; i < route.backends.size(); ++i) {
      auto ok = normalize_target(route.backends[i].authority,
                                 child(child(child(rat, "backends"), i), "authority"));
      if (!ok) return ok;
    }
    if (route.mirror) {
      auto ok = normalize_target(route.mirror->authority, child(child(rat, "mirror"), "authority"));
      if (!ok) return ok;
    }
  }
  return {};
}

}  // namespace lmesh::destination
