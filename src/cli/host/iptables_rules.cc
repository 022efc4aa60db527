#include "cli/host/iptables_rules.h"

#include <algorithm>

namespace lmesh::host {
namespace {

// iptables' multiport match takes at most 15 ports per rule (xt_multiport's XT_MULTI_PORTS).
constexpr size_t kMultiportLimit = 15;

std::string comment(std::string_view what) {
  std::string out = " -m comment --comment \"";
  out += kRuleCommentPrefix;
  out += what;
  out += '"';
  return out;
}

// One "-A CHAIN ..." line; `match` is what comes between the chain and the comment.
void append_rule(std::string& out, std::string_view chain, std::string_view match,
                 std::string_view what, std::string_view target) {
  out += "-A ";
  out += chain;
  out += match;
  out += comment(what);
  out += " -j ";
  out += target;
  out += '\n';
}

void append_ignored_ports(std::string& out, std::string_view chain,
                          const std::vector<uint16_t>& ports) {
  for (const std::string& list : multiport_lists(ports)) {
    append_rule(out, chain, " -p tcp -m multiport --dports " + list, "ignore-port-" + list,
                "RETURN");
  }
}

std::string redirect_to(uint16_t port) {
  return "REDIRECT --to-ports " + std::to_string(port);
}

}  // namespace

std::vector<std::string> multiport_lists(const std::vector<uint16_t>& ports) {
  std::vector<uint16_t> unique;
  for (uint16_t p : ports) {
    if (std::find(unique.begin(), unique.end(), p) == unique.end()) unique.push_back(p);
  }
  std::vector<std::string> lists;
  for (size_t i = 0; i < unique.size(); ++i) {
    if (i % kMultiportLimit == 0) {
      lists.emplace_back();
    } else {
      lists.back() += ',';
    }
    lists.back() += std::to_string(unique[i]);
  }
  return lists;
}

std::string interception_rules(const InterceptionConfig& config) {
  const std::string uid = std::to_string(config.proxy_uid);
  std::string out = "*nat\n";
  out += ":" + std::string(kRedirectChain) + " - [0:0]\n";
  out += ":" + std::string(kOutputChain) + " - [0:0]\n";

  // Inbound.
  append_ignored_ports(out, kRedirectChain, config.inbound_ports_to_ignore);
  append_rule(out, kRedirectChain, " -p tcp", "redirect-all-incoming-to-proxy-port",
              redirect_to(config.inbound_port));
  append_rule(out, "PREROUTING", "", "install-proxy-init-prerouting", kRedirectChain);

  // Outbound. Order matters: the proxy's own traffic to the pod IP must be caught before the
  // rule that exempts everything the proxy sends.
  append_rule(out, kOutputChain, " ! -d 127.0.0.1/32 -o lo -m owner --uid-owner " + uid,
              "redirect-non-loopback-local-traffic", kRedirectChain);
  append_rule(out, kOutputChain, " -m owner --uid-owner " + uid, "ignore-proxy-user-id", "RETURN");
  if (config.proxy_gid) {
    append_rule(out, kOutputChain, " -m owner --gid-owner " + std::to_string(*config.proxy_gid),
                "ignore-proxy-group-id", "RETURN");
  }
  // Covers 127.0.0.0/8 as well: local destinations are always routed through lo.
  append_rule(out, kOutputChain, " -o lo", "ignore-loopback", "RETURN");
  append_ignored_ports(out, kOutputChain, config.outbound_ports_to_ignore);
  append_rule(out, kOutputChain, " -p tcp", "redirect-all-outgoing-to-proxy-port",
              redirect_to(config.outbound_port));
  append_rule(out, "OUTPUT", "", "install-proxy-init-output", kOutputChain);

  out += "COMMIT\n";
  return out;
}

}  // namespace lmesh::host
