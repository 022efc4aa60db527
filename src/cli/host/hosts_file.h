// The /etc/hosts a pod sees: `ip netns exec NS` bind-mounts /etc/netns/NS/hosts over
// /etc/hosts, which is how `lmesh up` lets apps resolve service names to service VIPs without
// running a DNS server.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace lmesh::host {

struct HostsEntry {
  std::string ip;                  // IPv4 or IPv6 literal
  std::vector<std::string> names;  // at least one; no whitespace or '#'
};

// The file's text: the localhost lines every /etc/hosts has, then one line per entry.
// kInvalidArgument names the bad entry (an address that is not an IP literal, a name with
// whitespace, which would silently become two names).
Result<std::string> hosts_file_text(const std::vector<HostsEntry>& entries);

// The pods' /etc/resolv.conf. Pods cannot reach the host's DNS server (the bridge is not
// routed or NATed to the outside), and glibc asks DNS whenever files has no answer, including
// the AF_INET6 lookup `getent hosts` and gethostbyname2() make first: each such question would
// stall for the resolver's timeout (10 s). A nameserver on the pod's own loopback, where
// nothing listens, is refused at once, so only the hosts file answers and misses fail fast.
inline constexpr std::string_view kPodResolvConf =
    "# Written by lmesh up: pods resolve names from /etc/hosts only.\n"
    "nameserver 127.0.0.1\n"
    "options attempts:1 timeout:1\n";

// Entries from text in hosts(5) format ("IP NAME..." per line, '#' comments, blank lines).
Result<std::vector<HostsEntry>> parse_hosts(std::string_view text);

}  // namespace lmesh::host
