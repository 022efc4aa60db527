#include "destination/kubernetes/translate.h"

#include "common/net/socket_address.h"
#include "common/tls/identity_name.h"

namespace lmesh::destination::kubernetes {
namespace {

std::string host_port(const std::string& ip, uint16_t port) {
  bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

const SlicePort* slice_port(const EndpointSliceInfo& slice, const std::string& name) {
  for (const SlicePort& p : slice.ports) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::map<std::string, std::string> labels_of(const SliceEndpoint& e, const std::string& ns) {
  std::map<std::string, std::string> labels{{"namespace", ns}};
  if (!e.pod.empty()) labels["pod"] = e.pod;
  if (!e.zone.empty()) labels["zone"] = e.zone;
  if (!e.node.empty()) labels["node"] = e.node;
  return labels;
}

std::string identity_of(const SliceEndpoint& e, const FindPod& find_pod) {
  if (e.pod.empty()) return {};
  const PodInfo* pod = find_pod(e.pod_ns, e.pod);
  if (pod == nullptr || !pod->meshed) return {};
  return tls::ServiceAccountIdentity{e.pod_ns, pod->service_account}.dns_name();
}

ServiceSpec translate_port(const ServiceView& view, const ServicePort& port,
                           const FindPod& find_pod, std::string_view cluster_domain) {
  const ServiceInfo& s = view.service;
  const std::string suffix = ":" + std::to_string(port.port);
  ServiceSpec spec;
  spec.authority = service_fqdn(s.meta.name, s.meta.ns, cluster_domain) + suffix;
  spec.aliases.push_back(s.meta.name + "." + s.meta.ns + suffix);
  spec.aliases.push_back(s.meta.name + "." + s.meta.ns + ".svc" + suffix);
  for (const std::string& ip : s.cluster_ips) spec.aliases.push_back(host_port(ip, port.port));
  discovery::ProtocolHint hint = protocol_hint(s, port);
  for (const EndpointSliceInfo* slice : view.slices) {
    const SlicePort* target = slice_port(*slice, port.name);
    if (target == nullptr) continue;
    for (const SliceEndpoint& e : slice->endpoints) {
      std::string identity = identity_of(e, find_pod);
      for (const std::string& ip : e.addresses) {
        auto address = net::SocketAddress::parse(host_port(ip, target->port));
        if (!address) continue;  // checked by parse_endpoint_slice
        spec.endpoints.push_back({*address, 1, identity, hint, labels_of(e, s.meta.ns)});
      }
    }
  }
  if (view.profile != nullptr) spec.profile = *view.profile;
  return spec;
}

}  // namespace

PodSpec pod_spec(const PodInfo& pod) {
  PodSpec out;
  out.name = pod.meta.name;
  out.ns = pod.meta.ns;
  out.workload = pod.workload;
  out.service_account = pod.service_account;
  if (pod.meshed) {
    out.identity = tls::ServiceAccountIdentity{pod.meta.ns, pod.service_account}.dns_name();
  }
  if (auto ip = canonical_ip(pod.ip)) {
    out.addr = *ip;
    out.admin = admin_address(*ip);
  }
  return out;
}

std::string service_fqdn(std::string_view name, std::string_view ns,
                         std::string_view cluster_domain) {
  std::string out;
  out.reserve(name.size() + ns.size() + cluster_domain.size() + 6);
  out.append(name).append(".").append(ns).append(".svc.").append(cluster_domain);
  return out;
}

discovery::ProtocolHint protocol_hint(const ServiceInfo& service, const ServicePort& port) {
  // The annotation first: it is the mesh's own, explicit setting, while appProtocol is often
  // filled in generically by charts. A server-speaks-first protocol behind a port marked
  // opaque must never wait for a detection that cannot finish.
  for (const PortRange& r : service.opaque_ports) {
    if (port.port >= r.first && port.port <= r.last) return discovery::ProtocolHint::kOpaque;
  }
  const std::string& app = port.app_protocol;
  if (app == "kubernetes.io/h2c" || app == "h2c" || app == "grpc") {
    return discovery::ProtocolHint::kHttp2;
  }
  return discovery::ProtocolHint::kHttp1;  // "http", "kubernetes.io/ws", or nothing said
}

std::vector<ServiceSpec> translate_service(const ServiceView& view, const FindPod& find_pod,
                                           std::string_view cluster_domain) {
  std::vector<ServiceSpec> out;
  if (view.service.external_name) return out;
  out.reserve(view.service.ports.size());
  for (const ServicePort& port : view.service.ports) {
    out.push_back(translate_port(view, port, find_pod, cluster_domain));
  }
  return out;
}

std::optional<std::string> profile_target(const ObjectMeta& profile,
                                          std::string_view cluster_domain) {
  std::string suffix = "." + profile.ns + ".svc." + std::string(cluster_domain);
  std::string_view name = profile.name;
  if (name.size() <= suffix.size() || !name.ends_with(suffix)) return std::nullopt;
  name.remove_suffix(suffix.size());
  if (name.find('.') != std::string_view::npos) return std::nullopt;
  return profile.ns + "/" + std::string(name);
}

}  // namespace lmesh::destination::kubernetes
