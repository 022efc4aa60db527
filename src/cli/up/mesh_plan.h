// What `lmesh up` derives from a mesh file, without doing any of it: the services behind the
// workloads, each replica's addresses and names, the arguments of its proxy, its app's
// environment, the hosts file of its namespace and the mesh file lmesh-destination reads.
// Pure, so that the whole shape of a mesh is testable without root or processes.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/host/hosts_file.h"
#include "cli/up/mesh_spec.h"

namespace lmesh::up {

// netns: every replica in its own network namespace behind iptables, as in a cluster (root).
// loopback: every replica on its own 127.18.x.y address, apps told where their proxy is.
enum class NetworkMode { kNetns, kLoopback };

std::string_view to_string(NetworkMode mode);

// Loopback mode: the proxy's inbound listeners for a workload's second, third, ... port.
inline constexpr uint16_t kLoopbackInboundPortBase = 14301;
inline constexpr uint32_t kProxyUid = 2102;  // Linkerd's: the iptables rules exempt it
inline constexpr char kBridgeName[] = "lmesh0";
inline constexpr char kBridgeAddress[] = "198.18.0.1";  // the root namespace's side, /16
inline constexpr int kBridgePrefix = 16;
inline constexpr uint32_t kMaxSlots = 65'000;  // pod addresses in 198.18.0.0/16

// A service NAME in NAMESPACE: the workloads behind it decide its ports.
struct ServiceKey {
  std::string name;
  std::string namespace_name;
  auto operator<=>(const ServiceKey&) const = default;
};

struct ServicePlan {
  ServiceKey key;
  std::vector<WorkloadPort> ports;  // sorted by port
  nlohmann::json profile;           // null: none
  uint32_t vip_index = 0;           // its virtual IP: 198.19.0.0 + 1 + index
};

// Replica `replica` of workload `workload_index`; `slot` (from 1) fixes its address for life.
struct PodPlan {
  std::string name;  // web-0
  std::string namespace_name;
  std::string workload;  // deploy/web
  std::string service_account;
  std::string identity;
  size_t workload_index = 0;
  int replica = 0;
  uint32_t slot = 0;
  std::string ip;
  std::string netns;      // netns mode: lmesh-<slot>
  std::string host_veth;  // netns mode: lmh<slot>
  std::string admin;      // ip:4191
};

// Where the proxies and lmesh-tap find the controllers, and the files they read.
struct ControlPlane {
  std::string identity_addr;     // as the proxies reach it
  std::string destination_addr;  // as the proxies reach it
  std::string trust_anchors;     // <state>/ca/ca.crt
  std::string tokens_dir;        // <state>/tokens.d
};

std::string identity_name(std::string_view service_account, std::string_view namespace_name);
std::string pod_ip(NetworkMode mode, uint32_t slot);
std::string service_vip(uint32_t vip_index);
std::string service_host(const ServiceKey& key);  // web.default.svc.cluster.local

// The services the workloads are behind, with the policies of `spec.services`, VIPs from
// `vips` (indexes already given out; new services get the lowest free ones, added to `vips`).
// A policy for a service no workload is behind is an error naming it.
Result<std::vector<ServicePlan>> plan_services(const MeshSpec& spec,
                                               std::map<ServiceKey, uint32_t>& vips);

// The pod `replica` of `workload_index` at `slot`.
PodPlan plan_pod(NetworkMode mode, const MeshSpec& spec, size_t workload_index, int replica,
                 uint32_t slot);

// Loopback mode's way to opaque TCP services, which nothing can intercept there: the pod's
// proxy listens on its own address, one port per opaque service port, and treats what arrives
// as if redirected from VIP:port. The ports are the pod's own, from 15000 up, skipping every
// port its app or its proxy uses there. The app finds them in LMESH_OUTBOUND_<NAME>_<PORT>,
// and the service's first opaque port also in LMESH_OUTBOUND_<NAME>. Empty in netns mode.
inline constexpr uint16_t kLoopbackOpaquePortBase = 15000;
struct OpaqueListener {
  std::string listen;    // 127.18.x.y:15xxx
  std::string target;    // VIP:port
  std::string env_name;  // LMESH_OUTBOUND_STOCK (in the pod's namespace) or ..._STOCK_SHOP
  uint16_t service_port = 0;
  bool first_port = false;
};
std::vector<OpaqueListener> opaque_listeners(NetworkMode mode, const MeshSpec& spec,
                                             const std::vector<ServicePlan>& services,
                                             const PodPlan& pod);

// Loopback mode's inbound ports for `w`, one per port of `w.ports` in order: nothing says which
// port a connection is for there, so each has its own proxy listener: 4143 (--inbound-forward)
// for the first, then 14301, 14302, ... (--inbound-forward-listen) skipping `w`'s own ports.
std::vector<uint16_t> loopback_inbound_ports(const WorkloadSpec& w);

// lmesh-proxy's flags for `pod` (the binary itself not included).
std::vector<std::string> proxy_args(NetworkMode mode, const MeshSpec& spec,
                                    const std::vector<ServicePlan>& services, const PodPlan& pod,
                                    const ControlPlane& control);

// The app's environment on top of the inherited one (src/cli/README.md "Workload environment").
std::map<std::string, std::string> app_env(NetworkMode mode, const MeshSpec& spec,
                                           const std::vector<ServicePlan>& services,
                                           const PodPlan& pod);

// The hosts entries of a pod of `namespace_name`: every service name it may use, at the
// service's virtual IP (the localhost lines are host::hosts_file_text's).
std::vector<host::HostsEntry> hosts_entries(const std::vector<ServicePlan>& services,
                                            std::string_view namespace_name);

// The mesh file lmesh-destination follows: every service with the endpoints of the `ready`
// pods (by "namespace/name"), and every pod in `pods` (the running ones) for /v1/pods.
nlohmann::json destination_mesh(NetworkMode mode, const MeshSpec& spec,
                                const std::vector<ServicePlan>& services,
                                const std::vector<PodPlan>& pods,
                                const std::set<std::string>& ready);

// "default/web-0": how pods are keyed in maps and sets.
std::string pod_key(std::string_view namespace_name, std::string_view name);

}  // namespace lmesh::up
