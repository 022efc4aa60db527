// What the destination service says about where a service lives (DESIGN.md "Wire API",
// GET /v1/resolve): endpoints with their weight, expected TLS identity, protocol hint and
// metric labels, and the stream of updates that keeps a proxy's copy current.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/discovery/field_error.h"
#include "common/net/socket_address.h"

namespace lmesh::discovery {

// How the proxy should speak to an endpoint. A meshed endpoint (one with an identity) is
// reached over the proxy-to-proxy HTTP/2 hop whatever its application speaks; the hint
// matters for unmeshed endpoints and for opaque TCP, which is never detected.
enum class ProtocolHint { kHttp1, kHttp2, kOpaque };

std::string_view to_string(ProtocolHint hint);
std::optional<ProtocolHint> parse_protocol_hint(std::string_view text);

struct Endpoint {
  net::SocketAddress address;
  uint32_t weight = 1;  // relative share of traffic; at least 1
  // The TLS identity the endpoint's proxy must prove; empty when it is not meshed.
  std::string identity;
  ProtocolHint protocol = ProtocolHint::kHttp1;
  // dst_* metric labels, e.g. {"pod": "web-1", "zone": "a"}.
  std::map<std::string, std::string> labels;
  // Opaque transport (Linkerd's opaque_transport.inbound_port): a meshed opaque connection
  // goes to this port of the endpoint's IP, the endpoint's proxy's inbound listener, and
  // names the application's port in its header. 0: connect to `address` itself. Without it,
  // iptables would deliver the connection to the peer proxy as one for an opaque port, which
  // it relays without looking, TLS and all.
  uint16_t inbound_port = 0;

  bool operator==(const Endpoint&) const = default;
};

// One line of a /v1/resolve stream: endpoints added (or changed: an add replaces the endpoint
// at the same address), removed by address, or the service has none at all now.
struct ResolveUpdate {
  std::vector<Endpoint> add;
  std::vector<net::SocketAddress> remove;
  bool no_endpoints = false;
};

constexpr uint32_t kMaxEndpointWeight = 1'000'000;

nlohmann::json to_json(const Endpoint& endpoint);
nlohmann::json to_json(const ResolveUpdate& update);
Parsed<Endpoint> parse_endpoint(const nlohmann::json& value, const std::string& pointer);
// Exactly one of "add", "remove", "no_endpoints" per line.
Parsed<ResolveUpdate> parse_resolve_update(const nlohmann::json& value);
// A line as it arrives from the stream (bad JSON is a FieldError at "").
Parsed<ResolveUpdate> parse_resolve_line(std::string_view line);

}  // namespace lmesh::discovery
