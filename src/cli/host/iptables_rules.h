// The NAT rules that make a pod's traffic go through its proxy, as Linkerd's proxy-init
// (linkerd2-proxy-init, "redirect-all" mode) installs them, rendered as iptables-restore input.
//
// nat PREROUTING -> PROXY_INIT_REDIRECT: inbound TCP, except ignored ports, to the proxy's
//   inbound port.
// nat OUTPUT -> PROXY_INIT_OUTPUT: the app's outbound TCP to the proxy's outbound port, except
//   the proxy's own connections (by uid), loopback, and skipped ports. The proxy's connections
//   to the pod's own IP (over lo, not to 127.0.0.1) go to the redirect chain instead, so a call
//   from a pod to itself still passes its inbound proxy (app -> outbound -> inbound -> app).
//
// Every rule carries a comment starting with kRuleCommentPrefix, so `iptables-save` shows
// which rules lmesh made.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lmesh::host {

inline constexpr std::string_view kRuleCommentPrefix = "lmesh-init/";
inline constexpr std::string_view kRedirectChain = "PROXY_INIT_REDIRECT";
inline constexpr std::string_view kOutputChain = "PROXY_INIT_OUTPUT";

struct InterceptionConfig {
  // The uid the proxy runs as; its own connections are not redirected (else they would loop).
  uint32_t proxy_uid = 2102;
  // Also exempt this gid's connections, as proxy-init's --proxy-gid does. Unset by default:
  // lmesh's proxy is recognised by its uid, like proxy-init without --proxy-gid.
  std::optional<uint32_t> proxy_gid;
  uint16_t inbound_port = 4143;   // the proxy's inbound listener
  uint16_t outbound_port = 4140;  // the proxy's outbound listener
  // Inbound destination ports that reach the app (or the proxy's admin server) directly:
  // 4190 (proxy-init's default) and 4191 (the proxy's admin port), plus any extra.
  std::vector<uint16_t> inbound_ports_to_ignore = {4190, 4191};
  // Outbound destination ports the app reaches directly, without its proxy.
  std::vector<uint16_t> outbound_ports_to_ignore;
};

// The `iptables-restore --noflush` input for the nat table of a fresh network namespace:
// declares the two chains, fills them and hooks them into PREROUTING and OUTPUT.
std::string interception_rules(const InterceptionConfig& config);

// Port lists as iptables' multiport match takes them: at most 15 ports per rule, duplicates
// dropped, order kept. Each element is one comma-joined list, e.g. "4190,4191".
std::vector<std::string> multiport_lists(const std::vector<uint16_t>& ports);

}  // namespace lmesh::host
