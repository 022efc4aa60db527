// The root-namespace side of `lmesh up` netns mode (notes/up-contract.md): a bridge in the
// root namespace, and per pod a network namespace joined to it by a veth pair, with Linkerd's
// interception rules and a hosts file. Everything is done with iproute2 and iptables-restore
// (run_command.h), so it needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and is blocking: it runs
// at start-up and shut-down, not on a loop.
//
// Set-up steps report what they made so the caller can record it in state.json; removals are
// idempotent (a missing thing is not an error), so `lmesh down` can replay them after a crash.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "cli/host/hosts_file.h"
#include "cli/host/iptables_rules.h"
#include "common/result.h"

namespace lmesh::host {

inline constexpr std::string_view kNetnsPrefix = "lmesh-";  // pods' namespaces: lmesh-<n>
inline constexpr std::string_view kVethPrefix = "lmh";      // host sides of veths: lmh<n>
inline constexpr std::string_view kBridgePrefix = "lmesh";  // bridges: lmesh<n>, lmesh0 by default

struct BridgeSpec {
  std::string name = "lmesh0";
  std::string address = "198.18.0.1";  // the pods' default gateway; controllers listen here
  int prefix_len = 16;
};

// What ensure_bridge() found or made, to be recorded (state.json "network") and passed back to
// remove_bridge().
struct BridgeNetwork {
  std::string name;
  bool created = false;       // the bridge did not exist before
  bool forward_rule = false;  // an ACCEPT rule for it is in the root FORWARD chain (forward_rule.h)
};

// Makes the bridge (if missing), gives it its address and brings it up; adds the FORWARD rule
// when bridged traffic could otherwise be dropped. Running it again is harmless. Fails with
// kInvalidArgument when `name` exists but is not a bridge. On failure it removes what it made.
Result<BridgeNetwork> ensure_bridge(const BridgeSpec& spec);

// Removes the FORWARD rule (when `forward_rule`) and the bridge; missing ones are fine.
Result<void> remove_bridge(const std::string& name, bool forward_rule);

struct PodNetworkSpec {
  std::string netns;      // "lmesh-<n>"; must not exist yet
  std::string host_veth;  // "lmh<n>"; the pod's side is always eth0
  std::string bridge = "lmesh0";
  std::string ip;  // the pod's address, e.g. "198.18.0.2"
  int prefix_len = 16;
  std::string gateway = "198.18.0.1";  // the bridge's address
  InterceptionConfig interception;
  std::vector<HostsEntry> hosts;  // after the localhost lines of /etc/netns/<netns>/hosts
};

// Creates the namespace, the veth pair on the bridge, addresses and routes, the interception
// rules, and /etc/netns/<netns>/{hosts,resolv.conf} (resolv.conf: see kPodResolvConf). On any
// failure it undoes what it made and returns the first error.
Result<void> create_pod_network(const PodNetworkSpec& spec);

// Removes the veth pair, the namespace and /etc/netns/<netns>; missing ones are fine. Processes
// still in the namespace keep it alive (unnamed) until they exit: stop them first.
Result<void> remove_pod_network(const std::string& netns, const std::string& host_veth);

// lmesh's network objects that exist now: namespaces named lmesh-*, links named lmh<digits>
// and lmesh<digits> (bridges), by name. For `lmesh down` after a crash, and for tests.
std::vector<std::string> leftover_networks();

// A TCP socket (IPv4, non-blocking, close-on-exec) that lives in namespace `netns`, for
// uv_tcp_open() and a connect to 127.0.0.1:PORT there (an app's readiness probe). The calling
// thread enters the namespace only for the socket() call.
Result<int> socket_in_netns(const std::string& netns);

// The argv prefix that runs a command in the pod's namespace, optionally as `run_as` (uid and
// gid, no supplementary groups), e.g. {"ip","netns","exec","lmesh-1","setpriv",
// "--reuid=2102","--regid=2102","--clear-groups","--"}.
std::vector<std::string> netns_exec_prefix(const std::string& netns,
                                           std::optional<uid_t> run_as = std::nullopt);

// Whether `name` can be a network interface name (1..15 bytes, no '/', ':' or whitespace) or
// a namespace name (a file name under /run/netns: no '/', not "." or ".."). Exposed for tests.
bool valid_link_name(std::string_view name);
bool valid_netns_name(std::string_view name);

}  // namespace lmesh::host
