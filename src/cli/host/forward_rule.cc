#include "cli/host/forward_rule.h"

#include "cli/host/iptables_rules.h"

namespace lmesh::host {

bool forward_chain_may_drop(std::string_view bridge_nf_call_iptables,
                            std::string_view forward_chain_listing) {
  size_t value = bridge_nf_call_iptables.find_first_not_of(" \t\n");
  if (value == std::string_view::npos || bridge_nf_call_iptables[value] != '1') return false;
  // `iptables -S FORWARD` starts with "-P FORWARD <policy>".
  std::string_view policy_line = "-P FORWARD ";
  size_t at = forward_chain_listing.find(policy_line);
  if (at == std::string_view::npos) return true;  // unknown: assume the worst
  std::string_view policy = forward_chain_listing.substr(at + policy_line.size());
  policy = policy.substr(0, policy.find_first_of(" \t\n"));
  return policy != "ACCEPT";
}

std::vector<std::string> forward_rule_spec(const std::string& bridge) {
  return {"-i", bridge,    "-o",        bridge,
          "-m", "comment", "--comment", std::string(kRuleCommentPrefix) + "accept-bridge-" + bridge,
          "-j", "ACCEPT"};
}

}  // namespace lmesh::host
