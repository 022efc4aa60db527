#include "cli/host/existing.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace lmesh::host {

bool link_exists(const std::string& name) {
  // if_nametoindex asks the kernel about the caller's own namespace; /sys/class/net would
  // describe whichever namespace /sys was mounted from.
  return if_nametoindex(name.c_str()) != 0;
}

bool is_bridge(const std::string& name) {
  // The driver's name, asked through a socket of the caller's namespace, for the same reason.
  if (name.size() >= IFNAMSIZ) return false;
  int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return false;
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  ifreq req{};
  std::memcpy(req.ifr_name, name.c_str(), name.size());
  req.ifr_data = reinterpret_cast<char*>(&info);
  bool bridge = ::ioctl(sock, SIOCETHTOOL, &req) == 0 &&
                std::strncmp(info.driver, "bridge", sizeof info.driver) == 0;
  ::close(sock);
  return bridge;
}

std::string netns_path(const std::string& netns) {
  return std::string(kNetnsDir) + "/" + netns;
}

bool netns_exists(const std::string& netns) {
  std::error_code ec;
  return std::filesystem::exists(netns_path(netns), ec);
}

}  // namespace lmesh::host
