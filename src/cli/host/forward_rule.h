// The root namespace's FORWARD chain and the pods' bridge. With br_netfilter loaded and
// net.bridge.bridge-nf-call-iptables = 1, frames switched between two ports of a Linux bridge
// traverse iptables' FORWARD chain as if routed; Docker sets that chain's policy to DROP, so on
// a Docker host pod-to-pod traffic on our bridge would vanish. lmesh then inserts one ACCEPT
// rule for traffic that enters and leaves its bridge, and removes it on shut-down.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lmesh::host {

// True when bridged traffic goes through FORWARD (`bridge_nf_call_iptables` is the content
// of /proc/sys/net/bridge/bridge-nf-call-iptables, empty when br_netfilter is not loaded) and
// the chain's policy, from `iptables -S FORWARD` output, is not ACCEPT.
bool forward_chain_may_drop(std::string_view bridge_nf_call_iptables,
                            std::string_view forward_chain_listing);

// The rule's match and target, after "iptables -w -I FORWARD 1" / "-C FORWARD" / "-D FORWARD".
// Its comment names the bridge, so the rule is recognisable as lmesh's.
std::vector<std::string> forward_rule_spec(const std::string& bridge);

}  // namespace lmesh::host
