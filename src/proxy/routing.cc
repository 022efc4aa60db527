#include "proxy/routing.h"

#include <charconv>

namespace lmesh::proxy {
namespace {

constexpr std::string_view kHttpScheme = "http://";

std::string_view absolute_form_authority(std::string_view target) {
  std::string_view rest = target.substr(kHttpScheme.size());
  return rest.substr(0, rest.find_first_of("/?#"));
}

}  // namespace

bool is_absolute_form(std::string_view target) {
  return target.size() > kHttpScheme.size() &&
         http::iequals(target.substr(0, kHttpScheme.size()), kHttpScheme);
}

ConnectionTarget target_for(Direction direction, const ProxyConfig& config,
                            const net::TcpConnection& accepted) {
  ConnectionTarget t;
  // Without a NAT rule, SO_ORIGINAL_DST fails or names the listener itself.
  if (auto orig = accepted.original_destination(); orig && !(*orig == accepted.local_address())) {
    t.original_destination = *orig;
  }
  if (direction == Direction::kOutbound) {
    if (t.original_destination) {
      t.destination = t.original_destination;
    } else if (config.outbound_target) {
      t.destination = config.outbound_target;
    }
  } else {
    if (config.inbound_forward) {
      t.destination = config.inbound_forward;
    } else if (t.original_destination) {
      // The application listens on the port the client asked for, on loopback.
      t.destination = net::SocketAddress::loopback_v4(t.original_destination->port());
    }
  }
  return t;
}

std::optional<std::string_view> request_authority(const http::RequestHead& request) {
  if (!request.authority.empty()) return request.authority;
  if (is_absolute_form(request.target)) return absolute_form_authority(request.target);
  if (auto host = request.headers.get(http::FieldName::kHost); host && !host->empty()) return host;
  return std::nullopt;
}

Result<RequestUpstream> request_upstream(Direction direction, const ConnectionTarget& target,
                                         const http::RequestHead& request) {
  if (target.destination) return RequestUpstream{*target.destination, {}};
  std::optional<net::HostPort> hp;
  if (direction == Direction::kOutbound) {
    if (auto authority = request_authority(request)) hp = parse_authority(*authority);
  }
  if (!hp) return fail(ErrorCode::kNotFound, "request names no usable authority");
  if (auto numeric = net::SocketAddress::parse(hp->to_string())) {
    return RequestUpstream{*numeric, {}};
  }
  return RequestUpstream{std::nullopt, std::move(*hp)};
}

std::string origin_form(std::string_view absolute_target) {
  if (!is_absolute_form(absolute_target)) return std::string(absolute_target);
  std::string_view rest = absolute_target.substr(kHttpScheme.size());
  size_t path = rest.find_first_of("/?");
  if (path == std::string_view::npos) return "/";
  // "http://host?q" has an empty path: origin-form still starts with "/" (RFC 9112 §3.2.1).
  if (rest[path] == '?') return "/" + std::string(rest.substr(path));
  return std::string(rest.substr(path));
}

std::optional<net::HostPort> parse_authority(std::string_view authority) {
  // Strip userinfo (never used for routing).
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return std::nullopt;
  bool bracketed = authority.front() == '[';
  size_t colon = authority.rfind(':');
  if (bracketed) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    // After "]" comes the end or ":port", nothing else.
    if (close + 1 != authority.size() && authority[close + 1] != ':') return std::nullopt;
    if (colon < close) colon = std::string_view::npos;
  }
  net::HostPort hp;
  hp.port = 80;
  std::string_view host = authority;
  if (colon != std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return std::nullopt;
    }
    hp.port = static_cast<uint16_t>(value);
    host = authority.substr(0, colon);
  }
  if (bracketed) host = host.substr(1, host.size() - 2);
  if (host.empty()) return std::nullopt;
  hp.host = std::string(host);
  return hp;
}

}  // namespace lmesh::proxy
