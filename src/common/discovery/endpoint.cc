#include "common/discovery/endpoint.h"

#include <nlohmann/json.hpp>

#include "common/discovery/json_fields.h"

namespace lmesh::discovery {

using fields::bad;
using fields::child;

std::string_view to_string(ProtocolHint hint) {
  switch (hint) {
    case ProtocolHint::kHttp1: return "http1";
    case ProtocolHint::kHttp2: return "http2";
    case ProtocolHint::kOpaque: return "opaque";
  }
  return "http1";
}

std::optional<ProtocolHint> parse_protocol_hint(std::string_view text) {
  if (text == "http1") return ProtocolHint::kHttp1;
  if (text == "http2") return ProtocolHint::kHttp2;
  if (text == "opaque") return ProtocolHint::kOpaque;
  return std::nullopt;
}

nlohmann::json to_json(const Endpoint& e) {
  nlohmann::json j = {
      {"addr", e.address.to_string()}, {"weight", e.weight}, {"protocol", to_string(e.protocol)}};
  if (!e.identity.empty()) j["identity"] = e.identity;
  if (!e.labels.empty()) j["labels"] = e.labels;
  if (e.inbound_port != 0) j["inbound_port"] = e.inbound_port;
  return j;
}

nlohmann::json to_json(const ResolveUpdate& u) {
  if (u.no_endpoints) return {{"no_endpoints", true}};
  if (!u.remove.empty()) {
    nlohmann::json removed = nlohmann::json::array();
    for (const auto& a : u.remove) removed.push_back(a.to_string());
    return {{"remove", std::move(removed)}};
  }
  nlohmann::json added = nlohmann::json::array();
  for (const auto& e : u.add) added.push_back(to_json(e));
  return {{"add", std::move(added)}};
}

Parsed<Endpoint> parse_endpoint(const nlohmann::json& value, const std::string& pointer) {
  if (auto ok = fields::object_with(
          value, pointer, {"addr", "weight", "identity", "protocol", "labels", "inbound_port"});
      !ok) {
    return std::unexpected(ok.error());
  }
  Endpoint e;
  auto addr = fields::string_at(value, pointer, "addr", true);
  if (!addr) return std::unexpected(addr.error());
  auto address = net::SocketAddress::parse(*addr);
  if (!address) return bad(child(pointer, "addr"), "must be IP:port, got \"" + *addr + "\"");
  e.address = *address;
  auto weight = fields::integer_at(value, pointer, "weight", 1, kMaxEndpointWeight, 1);
  if (!weight) return std::unexpected(weight.error());
  e.weight = static_cast<uint32_t>(*weight);
  auto identity = fields::string_at(value, pointer, "identity", false);
  if (!identity) return std::unexpected(identity.error());
  e.identity = std::move(*identity);
  auto protocol = fields::string_at(value, pointer, "protocol", false);
  if (!protocol) return std::unexpected(protocol.error());
  if (!protocol->empty()) {
    auto hint = parse_protocol_hint(*protocol);
    if (!hint) return bad(child(pointer, "protocol"), "must be http1, http2 or opaque");
    e.protocol = *hint;
  }
  auto inbound_port = fields::integer_at(value, pointer, "inbound_port", 1, 65535, 0);
  if (!inbound_port) return std::unexpected(inbound_port.error());
  e.inbound_port = static_cast<uint16_t>(*inbound_port);
  if (const nlohmann::json* labels = fields::find(value, "labels")) {
    std::string at = child(pointer, "labels");
    if (!labels->is_object()) return bad(at, "must be an object of strings");
    for (const auto& [k, v] : labels->items()) {
      if (!v.is_string()) return bad(child(at, k), "must be a string");
      e.labels.emplace(k, v.get<std::string>());
    }
  }
  return e;
}

Parsed<ResolveUpdate> parse_resolve_update(const nlohmann::json& value) {
  if (auto ok = fields::object_with(value, "", {"add", "remove", "no_endpoints"}); !ok) {
    return std::unexpected(ok.error());
  }
  if (value.size() != 1) return bad("", "must hold exactly one of add, remove, no_endpoints");
  ResolveUpdate u;
  if (const nlohmann::json* add = fields::find(value, "add")) {
    if (!add->is_array()) return bad("/add", "must be an array of endpoints");
    for (size_t i = 0; i < add->size(); ++i) {
      auto e = parse_endpoint((*add)[i], child("/add", i));
      if (!e) return std::unexpected(e.error());
      u.add.push_back(std::move(*e));
    }
  } else if (const nlohmann::json* remove = fields::find(value, "remove")) {
    if (!remove->is_array()) return bad("/remove", "must be an array of addresses");
    for (size_t i = 0; i < remove->size(); ++i) {
      const nlohmann::json& a = (*remove)[i];
      auto address = a.is_string() ? net::SocketAddress::parse(a.get<std::string>())
                                   : fail(ErrorCode::kInvalidArgument, "not a string");
      if (!address) return bad(child("/remove", i), "must be IP:port");
      u.remove.push_back(*address);
    }
  } else {
    auto none = fields::bool_at(value, "", "no_endpoints", false);
    if (!none) return std::unexpected(none.error());
    if (!*none) return bad("/no_endpoints", "must be true when present");
    u.no_endpoints = true;
  }
  return u;
}

Parsed<ResolveUpdate> parse_resolve_line(std::string_view line) {
  nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return bad("", "not a JSON object");
  return parse_resolve_update(value);
}

}  // namespace lmesh::discovery
