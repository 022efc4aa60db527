#include "cli/up/mesh_plan.h"

#include <algorithm>
#include <utility>

namespace lmesh::up {
namespace {

using json = nlohmann::json;

std::string dotted(uint32_t base, uint32_t offset) {
  uint32_t a = base + offset;
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

constexpr uint32_t kPodBaseNetns = (198u << 24) | (18u << 16) | 1u;     // 198.18.0.1 + slot
constexpr uint32_t kPodBaseLoopback = (127u << 24) | (18u << 16) | 1u;  // 127.18.0.1 + slot
constexpr uint32_t kVipBase = (198u << 24) | (19u << 16) | 1u;          // 198.19.0.1 + index

// LMESH_SERVICE_RATINGS_V1 for ratings-v1.
std::string env_suffix(std::string_view name) {
  std::string out;
  for (char c : name) out += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

std::string authority(const ServiceKey& key, uint16_t port) {
  return service_host(key) + ":" + std::to_string(port);
}

bool name_unique(const std::vector<ServicePlan>& services, const ServiceKey& key) {
  return std::ranges::count_if(services,
                               [&](const ServicePlan& s) { return s.key.name == key.name; }) == 1;
}

bool behind(const WorkloadSpec& w, const ServiceKey& key) {
  return w.namespace_name == key.namespace_name &&
         std::ranges::find(w.services, key.name) != w.services.end();
}

}  // namespace

std::string_view to_string(NetworkMode mode) {
  return mode == NetworkMode::kNetns ? "netns" : "loopback";
}

std::string identity_name(std::string_view service_account, std::string_view namespace_name) {
  return std::string(service_account) + "." + std::string(namespace_name) +
         ".serviceaccount.identity.lmesh.cluster.local";
}

std::string pod_ip(NetworkMode mode, uint32_t slot) {
  return dotted(mode == NetworkMode::kNetns ? kPodBaseNetns : kPodBaseLoopback, slot);
}

std::string service_vip(uint32_t vip_index) {
  return dotted(kVipBase, vip_index);
}

std::string service_host(const ServiceKey& key) {
  return key.name + "." + key.namespace_name + ".svc.cluster.local";
}

std::string pod_key(std::string_view namespace_name, std::string_view name) {
  return std::string(namespace_name) + "/" + std::string(name);
}

Result<std::vector<ServicePlan>> plan_services(const MeshSpec& spec,
                                               std::map<ServiceKey, uint32_t>& vips) {
  std::map<ServiceKey, ServicePlan> by_key;
  for (const WorkloadSpec& w : spec.workloads) {
    for (const std::string& name : w.services) {
      ServiceKey key{name, w.namespace_name};
      ServicePlan& plan = by_key[key];
      plan.key = key;
      for (const WorkloadPort& port : w.ports) {
        auto same = std::ranges::find(plan.ports, port.port, &WorkloadPort::port);
        if (same == plan.ports.end()) {
          plan.ports.push_back(port);
        } else if (same->protocol != port.protocol) {
          return fail(ErrorCode::kInvalidArgument,
                      "service " + name + "." + w.namespace_name + " port " +
                          std::to_string(port.port) +
                          ": the workloads behind it disagree on its protocol");
        }
      }
    }
  }
  for (const ServicePolicy& policy : spec.services) {
    auto it = by_key.find(ServiceKey{policy.name, policy.namespace_name});
    if (it == by_key.end()) {
      return fail(ErrorCode::kInvalidArgument,
                  "services/" + policy.name + "." + policy.namespace_name +
                      ": no workload is behind this service (list it in a workload's services)");
    }
    it->second.profile = policy.profile;
  }
  std::vector<ServicePlan> out;
  for (auto& [key, plan] : by_key) {
    std::ranges::sort(plan.ports, {}, &WorkloadPort::port);
    auto known = vips.find(key);
    if (known == vips.end()) {
      uint32_t index = 0;
      while (std::ranges::any_of(vips, [&](const auto& kv) { return kv.second == index; })) {
        ++index;
      }
      known = vips.emplace(key, index).first;
    }
    plan.vip_index = known->second;
    out.push_back(std::move(plan));
  }
  return out;
}

PodPlan plan_pod(NetworkMode mode, const MeshSpec& spec, size_t workload_index, int replica,
                 uint32_t slot) {
  const WorkloadSpec& w = spec.workloads.at(workload_index);
  PodPlan pod;
  pod.name = w.name + "-" + std::to_string(replica);
  pod.namespace_name = w.namespace_name;
  pod.workload = "deploy/" + w.name;
  pod.service_account = w.service_account;
  pod.identity = identity_name(w.service_account, w.namespace_name);
  pod.workload_index = workload_index;
  pod.replica = replica;
  pod.slot = slot;
  pod.ip = pod_ip(mode, slot);
  if (mode == NetworkMode::kNetns) {
    pod.netns = "lmesh-" + std::to_string(slot);
    pod.host_veth = "lmh" + std::to_string(slot);
  }
  pod.admin = pod.ip + ":" + std::to_string(kProxyAdminPort);
  return pod;
}

std::vector<OpaqueListener> opaque_listeners(NetworkMode mode, const MeshSpec& spec,
                                             const std::vector<ServicePlan>& services,
                                             const PodPlan& pod) {
  std::vector<OpaqueListener> out;
  if (mode != NetworkMode::kLoopback) return out;
  // Pods share loopback's port space on their own addresses: the app's ports and the proxy's
  // listeners there are taken.
  const WorkloadSpec& w = spec.workloads.at(pod.workload_index);
  std::vector<uint16_t> taken = loopback_inbound_ports(w);
  for (const WorkloadPort& p : w.ports) taken.push_back(p.port);
  taken.insert(taken.end(), {kProxyOutboundPort, kProxyControlPort, kProxyAdminPort});
  uint32_t next = kLoopbackOpaquePortBase;
  for (const ServicePlan& s : services) {
    bool first = true;
    for (const WorkloadPort& port : s.ports) {
      if (port.protocol != discovery::ProtocolHint::kOpaque) continue;
      while (std::ranges::find(taken, next) != taken.end()) ++next;
      if (next > 65535) return out;  // 50,000 opaque ports: nothing left to listen on
      std::string suffix = env_suffix(s.key.name);
      if (s.key.namespace_name != pod.namespace_name) {
        suffix += "_" + env_suffix(s.key.namespace_name);
      }
      out.push_back(OpaqueListener{pod.ip + ":" + std::to_string(next++),
                                   service_vip(s.vip_index) + ":" + std::to_string(port.port),
                                   "LMESH_OUTBOUND_" + suffix, port.port, first});
      first = false;
    }
  }
  return out;
}

std::vector<uint16_t> loopback_inbound_ports(const WorkloadSpec& w) {
  std::vector<uint16_t> out;
  uint32_t next = kLoopbackInboundPortBase;
  for (size_t i = 0; i < w.ports.size(); ++i) {
    if (i == 0) {
      out.push_back(kProxyInboundPort);
      continue;
    }
    while (std::ranges::find(w.ports, next, &WorkloadPort::port) != w.ports.end()) ++next;
    out.push_back(static_cast<uint16_t>(next++));
  }
  return out;
}

std::vector<std::string> proxy_args(NetworkMode mode, const MeshSpec& spec,
                                    const std::vector<ServicePlan>& services, const PodPlan& pod,
                                    const ControlPlane& control) {
  const WorkloadSpec& w = spec.workloads.at(pod.workload_index);
  auto port = [](uint16_t p) { return ":" + std::to_string(p); };
  std::vector<std::string> args;
  if (mode == NetworkMode::kNetns) {
    args = {"--outbound-listen", "127.0.0.1" + port(kProxyOutboundPort),
            "--inbound-listen",  "0.0.0.0" + port(kProxyInboundPort),
            "--admin-listen",    "0.0.0.0" + port(kProxyAdminPort)};
  } else {
    args = {"--outbound-listen", pod.ip + port(kProxyOutboundPort),
            "--inbound-listen",  pod.ip + port(kProxyInboundPort),
            "--admin-listen",    pod.ip + port(kProxyAdminPort),
            "--outbound-bind",   pod.ip};
    // Without iptables nothing says which port a connection was for: a listener per port.
    std::vector<uint16_t> inbound = loopback_inbound_ports(w);
    std::string forwards;
    for (size_t i = 0; i < w.ports.size(); ++i) {
      std::string app = pod.ip + port(w.ports[i].port);
      if (i == 0) {
        args.insert(args.end(), {"--inbound-forward", app});
      } else {
        forwards += (forwards.empty() ? "" : ",") + pod.ip + port(inbound[i]) + "=" + app;
      }
    }
    if (!forwards.empty()) args.insert(args.end(), {"--inbound-forward-listen", forwards});
    std::string listeners;
    for (const OpaqueListener& l : opaque_listeners(mode, spec, services, pod)) {
      listeners += (listeners.empty() ? "" : ",") + l.listen + "=" + l.target;
    }
    if (!listeners.empty()) args.insert(args.end(), {"--outbound-service-listen", listeners});
  }
  // Linkerd's default opaque ports, plus every port the mesh declares opaque, on every proxy:
  // the client's proxy must not wait for a server-speaks-first protocol to speak.
  std::set<uint16_t> opaque{25, 587, 3306, 4444, 5432, 6379, 9300, 11211};
  for (const WorkloadSpec& other : spec.workloads) {
    for (const WorkloadPort& p : other.ports) {
      if (p.protocol == discovery::ProtocolHint::kOpaque) opaque.insert(p.port);
    }
  }
  std::string opaque_list;
  for (uint16_t p : opaque) opaque_list += (opaque_list.empty() ? "" : ",") + std::to_string(p);
  args.insert(args.end(),
              {"--workers", "1", "--shutdown-grace", "2s", "--opaque-ports", opaque_list,
               "--destination-addr", control.destination_addr, "--identity-addr",
               control.identity_addr, "--identity-name", pod.identity, "--identity-token-file",
               control.tokens_dir + "/" + pod.namespace_name + "." + pod.name, "--trust-anchors",
               control.trust_anchors});
  return args;
}

std::map<std::string, std::string> app_env(NetworkMode mode, const MeshSpec& spec,
                                           const std::vector<ServicePlan>& services,
                                           const PodPlan& pod) {
  const WorkloadSpec& w = spec.workloads.at(pod.workload_index);
  std::map<std::string, std::string> env = w.env;
  env["LMESH_POD_NAME"] = pod.name;
  env["LMESH_NAMESPACE"] = pod.namespace_name;
  env["LMESH_POD_IP"] = pod.ip;
  env["LMESH_LISTEN_HOST"] = mode == NetworkMode::kNetns ? "0.0.0.0" : pod.ip;
  env["LMESH_OUTBOUND"] =
      mode == NetworkMode::kNetns ? "" : pod.ip + ":" + std::to_string(kProxyOutboundPort);
  for (const OpaqueListener& l : opaque_listeners(mode, spec, services, pod)) {
    env[l.env_name + "_" + std::to_string(l.service_port)] = l.listen;
    if (l.first_port) env[l.env_name] = l.listen;
  }
  for (const ServicePlan& s : services) {
    if (s.ports.empty()) continue;
    std::string value = authority(s.key, s.ports.front().port);
    env["LMESH_SERVICE_" + env_suffix(s.key.name) + "_" + env_suffix(s.key.namespace_name)] = value;
    if (s.key.namespace_name == pod.namespace_name) {
      env["LMESH_SERVICE_" + env_suffix(s.key.name)] = value;
    }
  }
  return env;
}

std::vector<host::HostsEntry> hosts_entries(const std::vector<ServicePlan>& services,
                                            std::string_view namespace_name) {
  std::vector<host::HostsEntry> out;
  for (const ServicePlan& s : services) {
    const std::string& name = s.key.name;
    const std::string& ns = s.key.namespace_name;
    host::HostsEntry entry{service_vip(s.vip_index),
                           {service_host(s.key), name + "." + ns + ".svc", name + "." + ns}};
    if (ns == namespace_name) entry.names.push_back(name);
    out.push_back(std::move(entry));
  }
  return out;
}

json destination_mesh(NetworkMode mode, const MeshSpec& spec,
                      const std::vector<ServicePlan>& services, const std::vector<PodPlan>& pods,
                      const std::set<std::string>& ready) {
  json out_services = json::object();
  for (const ServicePlan& s : services) {
    for (const WorkloadPort& port : s.ports) {
      std::string p = ":" + std::to_string(port.port);
      json aliases = json::array({s.key.name + "." + s.key.namespace_name + p,
                                  s.key.name + "." + s.key.namespace_name + ".svc" + p,
                                  service_vip(s.vip_index) + p});
      if (name_unique(services, s.key)) aliases.push_back(s.key.name + p);
      json endpoints = json::array();
      for (const PodPlan& pod : pods) {
        const WorkloadSpec& w = spec.workloads.at(pod.workload_index);
        if (!behind(w, s.key)) continue;
        if (!ready.contains(pod_key(pod.namespace_name, pod.name))) continue;
        // A service's workloads need not all serve each of its ports.
        auto served = std::ranges::find(w.ports, port.port, &WorkloadPort::port);
        if (served == w.ports.end()) continue;
        uint16_t target = mode == NetworkMode::kNetns
                              ? port.port
                              : loopback_inbound_ports(w).at(served - w.ports.begin());
        json endpoint = {{"addr", pod.ip + ":" + std::to_string(target)},
                         {"identity", pod.identity},
                         {"protocol", std::string(discovery::to_string(port.protocol))},
                         {"labels", {{"pod", pod.name}, {"namespace", pod.namespace_name}}}};
        // Opaque bytes to the app's port would reach the pod's proxy as an opaque-port
        // connection, relayed untouched; they go to its inbound port instead, as Linkerd's
        // opaque transport does, with the app's port in the header. (In loopback mode the
        // target already is one of the proxy's inbound listeners.)
        if (port.protocol == discovery::ProtocolHint::kOpaque && mode == NetworkMode::kNetns) {
          endpoint["inbound_port"] = kProxyInboundPort;
        }
        endpoints.push_back(std::move(endpoint));
      }
      json service = {{"aliases", aliases}, {"endpoints", endpoints}};
      if (!s.profile.is_null()) service["profile"] = s.profile;
      out_services[authority(s.key, port.port)] = service;
    }
  }
  json out_pods = json::array();
  for (const PodPlan& pod : pods) {
    out_pods.push_back({{"name", pod.name},
                        {"namespace", pod.namespace_name},
                        {"workload", pod.workload},
                        {"service_account", pod.service_account},
                        {"identity", pod.identity},
                        {"addr", pod.ip},
                        {"admin", pod.admin}});
  }
  return {{"services", out_services}, {"pods", out_pods}};
}

}  // namespace lmesh::up
