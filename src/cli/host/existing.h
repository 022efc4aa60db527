// What exists now in the root namespace: the checks that make set-up and removal idempotent.
// Internal to src/cli/host.
#pragma once

#include <string>

namespace lmesh::host {

// iproute2's directory of named namespaces (/var/run/netns is a link to it on Debian).
inline constexpr std::string_view kNetnsDir = "/run/netns";
// `ip netns exec NS` bind-mounts files under /etc/netns/NS over /etc.
inline constexpr std::string_view kNetnsEtcDir = "/etc/netns";

// A network interface named `name` in the calling thread's namespace; a bridge by that name.
bool link_exists(const std::string& name);
bool is_bridge(const std::string& name);
bool netns_exists(const std::string& netns);
std::string netns_path(const std::string& netns);

}  // namespace lmesh::host
