#include "destination/kubernetes/objects.h"

#include <charconv>

#include "common/discovery/json_fields.h"
#include "common/net/socket_address.h"
#include "destination/authority.h"
#include "destination/kubernetes/pod_owner.h"

namespace lmesh::destination::kubernetes {
namespace {

namespace fields = discovery::fields;
using fields::bad;
using fields::child;
using nlohmann::json;

template <class T>
std::unexpected<FieldError> pass(const Parsed<T>& failed) {
  return std::unexpected(failed.error());
}

// Kubernetes writes an unset optional field as absent or, from some clients, as null.
const json* present(const json& object, std::string_view key) {
  const json* v = fields::find(object, key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

Parsed<std::string> optional_string(const json& object, const std::string& at,
                                    std::string_view key) {
  const json* v = present(object, key);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return bad(child(at, key), "must be a string");
  return v->get<std::string>();
}

// An optional object member; null when absent. Refuses a value of another type.
Parsed<const json*> optional_object(const json& object, const std::string& at,
                                    std::string_view key) {
  const json* v = present(object, key);
  if (v != nullptr && !v->is_object()) return bad(child(at, key), "must be an object");
  return v;
}

Parsed<const json*> optional_array(const json& object, const std::string& at,
                                   std::string_view key) {
  const json* v = present(object, key);
  if (v != nullptr && !v->is_array()) return bad(child(at, key), "must be an array");
  return v;
}

Parsed<uint16_t> port_at(const json& object, const std::string& at, std::string_view key) {
  auto n = fields::integer_at(object, at, key, 1, 65535, 0);
  if (!n) return pass(n);
  if (*n == 0) return bad(child(at, key), "is required");
  return static_cast<uint16_t>(*n);
}

// An IP literal, as Services and EndpointSlices carry them (no brackets, no port).
bool is_ip(const std::string& text) {
  std::string probe = text.find(':') == std::string::npos ? text + ":1" : "[" + text + "]:1";
  return net::SocketAddress::parse(probe).has_value();
}

// "metadata.labels[key]" or "metadata.annotations[key]" as a string, "" when absent.
Parsed<std::string> meta_entry(const json& object, std::string_view map, std::string_view key) {
  const json* meta = fields::find(object, "metadata");  // parse_meta checked it is an object
  auto entries = optional_object(*meta, "/metadata", map);
  if (!entries) return pass(entries);
  if (*entries == nullptr) return std::string();
  return optional_string(**entries, child("/metadata", map), key);
}

bool is_tcp(const json& port) {
  const json* protocol = present(port, "protocol");
  return protocol == nullptr || (protocol->is_string() && protocol->get<std::string>() == "TCP");
}

Parsed<std::vector<ServicePort>> parse_service_ports(const json& spec) {
  std::vector<ServicePort> out;
  auto ports = optional_array(spec, "/spec", "ports");
  if (!ports) return pass(ports);
  if (*ports == nullptr) return out;
  for (size_t i = 0; i < (*ports)->size(); ++i) {
    const json& p = (**ports)[i];
    std::string at = child("/spec/ports", i);
    if (!p.is_object()) return bad(at, "must be an object");
    if (!is_tcp(p)) continue;
    ServicePort port;
    auto name = optional_string(p, at, "name");
    if (!name) return pass(name);
    auto number = port_at(p, at, "port");
    if (!number) return pass(number);
    auto app = optional_string(p, at, "appProtocol");
    if (!app) return pass(app);
    out.push_back({std::move(*name), *number, std::move(*app)});
  }
  return out;
}

Parsed<std::vector<std::string>> parse_cluster_ips(const json& spec) {
  std::vector<std::string> ips;
  auto many = optional_array(spec, "/spec", "clusterIPs");
  if (!many) return pass(many);
  if (*many != nullptr) {
    for (size_t i = 0; i < (*many)->size(); ++i) {
      const json& ip = (**many)[i];
      if (!ip.is_string()) return bad(child("/spec/clusterIPs", i), "must be a string");
      std::string text = ip.get<std::string>();
      if (text == "None") continue;  // headless
      if (!is_ip(text)) return bad(child("/spec/clusterIPs", i), "must be an IP address or None");
      ips.push_back(std::move(text));
    }
    return ips;
  }
  auto one = optional_string(spec, "/spec", "clusterIP");
  if (!one) return pass(one);
  if (one->empty() || *one == "None") return ips;
  if (!is_ip(*one)) return bad("/spec/clusterIP", "must be an IP address or None");
  ips.push_back(std::move(*one));
  return ips;
}

// Nothing for an endpoint that is not ready: it is not kept.
Parsed<std::optional<SliceEndpoint>> parse_slice_endpoint(const json& e, const std::string& at) {
  if (!e.is_object()) return bad(at, "must be an object");
  SliceEndpoint out;
  auto addresses = optional_array(e, at, "addresses");
  if (!addresses) return pass(addresses);
  if (*addresses == nullptr) return bad(child(at, "addresses"), "is required");
  for (size_t i = 0; i < (*addresses)->size(); ++i) {
    const json& a = (**addresses)[i];
    if (!a.is_string() || !is_ip(a.get<std::string>())) {
      return bad(child(child(at, "addresses"), i), "must be an IP address");
    }
    out.addresses.push_back(a.get<std::string>());
  }
  auto conditions = optional_object(e, at, "conditions");
  if (!conditions) return pass(conditions);
  if (*conditions != nullptr) {
    // "nil should be interpreted as ready" (discovery.k8s.io/v1 EndpointConditions).
    const json* r = present(**conditions, "ready");
    if (r != nullptr && !r->is_boolean()) {
      return bad(child(child(at, "conditions"), "ready"), "must be true or false");
    }
    if (r != nullptr && !r->get<bool>()) return std::optional<SliceEndpoint>();
  }
  auto zone = optional_string(e, at, "zone");
  if (!zone) return pass(zone);
  out.zone = std::move(*zone);
  auto node = optional_string(e, at, "nodeName");
  if (!node) return pass(node);
  out.node = std::move(*node);
  auto ref = optional_object(e, at, "targetRef");
  if (!ref) return pass(ref);
  if (*ref != nullptr) {
    std::string rat = child(at, "targetRef");
    auto kind = optional_string(**ref, rat, "kind");
    if (!kind) return pass(kind);
    auto name = optional_string(**ref, rat, "name");
    if (!name) return pass(name);
    auto ns = optional_string(**ref, rat, "namespace");
    if (!ns) return pass(ns);
    if (*kind == "Pod") {
      out.pod = std::move(*name);
      out.pod_ns = std::move(*ns);
    }
  }
  return out;
}

// metadata.ownerReferences: the controller, else the first owner.
Parsed<PodOwner> parse_owner(const json& meta) {
  auto owners = optional_array(meta, "/metadata", "ownerReferences");
  if (!owners) return pass(owners);
  PodOwner out;
  if (*owners == nullptr) return out;
  for (size_t i = 0; i < (*owners)->size(); ++i) {
    const json& o = (**owners)[i];
    std::string at = child("/metadata/ownerReferences", i);
    if (!o.is_object()) return bad(at, "must be an object");
    auto kind = optional_string(o, at, "kind");
    if (!kind) return pass(kind);
    auto name = optional_string(o, at, "name");
    if (!name) return pass(name);
    const json* controller = present(o, "controller");
    bool controls = controller != nullptr && controller->is_boolean() && controller->get<bool>();
    if (i == 0 || controls) out = {std::move(*kind), std::move(*name)};
    if (controls) break;
  }
  return out;
}

}  // namespace

std::string_view to_string(Kind kind) {
  switch (kind) {
    case Kind::kServices: return "services";
    case Kind::kEndpointSlices: return "endpointslices";
    case Kind::kPods: return "pods";
    case Kind::kServiceProfiles: return "serviceprofiles";
  }
  return "unknown";
}

Parsed<ObjectMeta> parse_meta(const json& object) {
  if (!object.is_object()) return bad("", "must be an object");
  const json* meta = fields::find(object, "metadata");
  if (meta == nullptr) return bad("/metadata", "is required");
  if (!meta->is_object()) return bad("/metadata", "must be an object");
  ObjectMeta out;
  auto name = optional_string(*meta, "/metadata", "name");
  if (!name) return pass(name);
  if (name->empty()) return bad("/metadata/name", "is required");
  auto ns = optional_string(*meta, "/metadata", "namespace");
  if (!ns) return pass(ns);
  if (ns->empty()) return bad("/metadata/namespace", "is required");
  auto rv = optional_string(*meta, "/metadata", "resourceVersion");
  if (!rv) return pass(rv);
  return ObjectMeta{std::move(*ns), std::move(*name), std::move(*rv)};
}

Parsed<ServiceInfo> parse_service(const json& object) {
  auto meta = parse_meta(object);
  if (!meta) return pass(meta);
  auto spec = optional_object(object, "", "spec");
  if (!spec) return pass(spec);
  if (*spec == nullptr) return bad("/spec", "is required");
  ServiceInfo out;
  out.meta = std::move(*meta);
  auto type = optional_string(**spec, "/spec", "type");
  if (!type) return pass(type);
  out.external_name = *type == "ExternalName";
  if (!out.external_name) {
    auto ips = parse_cluster_ips(**spec);
    if (!ips) return pass(ips);
    out.cluster_ips = std::move(*ips);
  }
  auto ports = parse_service_ports(**spec);
  if (!ports) return pass(ports);
  out.ports = std::move(*ports);
  auto opaque = meta_entry(object, "annotations", kOpaquePortsAnnotation);
  if (!opaque) return pass(opaque);
  auto ranges = parse_port_ranges(*opaque);
  if (!ranges) {
    return bad(child(child("/metadata", "annotations"), kOpaquePortsAnnotation),
               ranges.error().message);
  }
  out.opaque_ports = std::move(*ranges);
  return out;
}

Parsed<EndpointSliceInfo> parse_endpoint_slice(const json& object) {
  auto meta = parse_meta(object);
  if (!meta) return pass(meta);
  EndpointSliceInfo out;
  out.meta = std::move(*meta);
  auto service = meta_entry(object, "labels", kServiceNameLabel);
  if (!service) return pass(service);
  out.service = std::move(*service);
  auto type = optional_string(object, "", "addressType");
  if (!type) return pass(type);
  // FQDN slices (deprecated) name hosts, not addresses: nothing a proxy can connect to.
  if (*type == "FQDN") return out;
  if (*type != "IPv4" && *type != "IPv6") return bad("/addressType", "must be IPv4, IPv6 or FQDN");
  auto ports = optional_array(object, "", "ports");
  if (!ports) return pass(ports);
  for (size_t i = 0; *ports != nullptr && i < (*ports)->size(); ++i) {
    const json& p = (**ports)[i];
    std::string at = child("/ports", i);
    if (!p.is_object()) return bad(at, "must be an object");
    // A port without a number means "all ports" (EndpointPort.port): no address to dial.
    if (!is_tcp(p) || present(p, "port") == nullptr) continue;
    auto name = optional_string(p, at, "name");
    if (!name) return pass(name);
    auto number = port_at(p, at, "port");
    if (!number) return pass(number);
    out.ports.push_back({std::move(*name), *number});
  }
  auto endpoints = optional_array(object, "", "endpoints");
  if (!endpoints) return pass(endpoints);
  for (size_t i = 0; *endpoints != nullptr && i < (*endpoints)->size(); ++i) {
    auto e = parse_slice_endpoint((**endpoints)[i], child("/endpoints", i));
    if (!e) return pass(e);
    if (!*e) continue;
    if ((*e)->pod_ns.empty()) (*e)->pod_ns = out.meta.ns;
    out.endpoints.push_back(std::move(**e));
  }
  return out;
}

Parsed<PodInfo> parse_pod(const json& object) {
  auto meta = parse_meta(object);
  if (!meta) return pass(meta);
  PodInfo out;
  out.meta = std::move(*meta);
  auto labels = optional_object(*fields::find(object, "metadata"), "/metadata", "labels");
  if (!labels) return pass(labels);
  out.meshed = *labels != nullptr && present(**labels, kMeshedPodLabel) != nullptr;
  auto spec = optional_object(object, "", "spec");
  if (!spec) return pass(spec);
  if (*spec != nullptr) {
    auto sa = optional_string(**spec, "/spec", "serviceAccountName");
    if (!sa) return pass(sa);
    out.service_account = std::move(*sa);
  }
  if (out.service_account.empty()) out.service_account = "default";
  auto status = optional_object(object, "", "status");
  if (!status) return pass(status);
  if (*status != nullptr) {
    auto ip = optional_string(**status, "/status", "podIP");
    if (!ip) return pass(ip);
    if (!ip->empty() && !is_ip(*ip)) return bad("/status/podIP", "must be an IP address");
    out.ip = std::move(*ip);
  }
  auto owner = parse_owner(*fields::find(object, "metadata"));
  if (!owner) return pass(owner);
  auto hash = meta_entry(object, "labels", kPodTemplateHashLabel);
  if (!hash) return pass(hash);
  out.workload = workload_of(*owner, out.meta.name, *hash);
  return out;
}

Parsed<ServiceProfileInfo> parse_service_profile(const json& object) {
  auto meta = parse_meta(object);
  if (!meta) return pass(meta);
  auto spec = optional_object(object, "", "spec");
  if (!spec) return pass(spec);
  if (*spec == nullptr) return bad("/spec", "is required");
  auto profile = discovery::parse_profile(**spec, "/spec");
  if (!profile) return pass(profile);
  if (auto ok = normalize_profile_targets(*profile, "/spec"); !ok) return pass(ok);
  return ServiceProfileInfo{std::move(*meta), std::move(*profile)};
}

Parsed<std::vector<PortRange>> parse_port_ranges(std::string_view text) {
  std::vector<PortRange> out;
  auto number = [](std::string_view s) -> std::optional<uint16_t> {
    unsigned n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || n == 0 || n > 65535) {
      return std::nullopt;
    }
    return static_cast<uint16_t>(n);
  };
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  while (!trim(text).empty()) {
    size_t comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;  // "5432," is forgiven
    size_t dash = item.find('-');
    auto first = number(trim(item.substr(0, dash)));
    auto last = dash == std::string_view::npos ? first : number(trim(item.substr(dash + 1)));
    if (!first || !last || *last < *first) {
      return bad("", "\"" + std::string(item) +
                         "\" is not a port (1-65535) or a range of ports (4000-4100)");
    }
    out.push_back({*first, *last});
  }
  return out;
}

}  // namespace lmesh::destination::kubernetes
