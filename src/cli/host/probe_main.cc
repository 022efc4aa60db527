// lmesh-host-net-probe: drives the host-network library from a shell, for
// tests/integration/test_host_network.py and for poking at a host by hand. Not installed.
//
//   bridge-up   [--name lmesh0] [--address 198.18.0.1] [--prefix 16]
//   bridge-down [--name lmesh0] [--forward-rule]
//   pod-up NS VETH IP HOSTSFILE [--bridge lmesh0] [--gateway 198.18.0.1] [--prefix 16]
//          [--skip-outbound-ports P,P] [--skip-inbound-ports P,P]
//   pod-down NS VETH
//   leftovers                 lmesh's namespaces and links, one per line
//   connect NS PORT           socket_in_netns + connect to 127.0.0.1:PORT there, send "probe\n"
//   rules                     the default interception rules (iptables-restore input)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "cli/host/host_network.h"
#include "common/fs/read_file.h"

namespace {

using namespace lmesh;
using namespace lmesh::host;

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // "--forward-rule" maps to ""

  std::string get(const std::string& key, std::string fallback) const {
    auto it = options.find(key);
    return it == options.end() ? fallback : it->second;
  }
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--forward-rule") {
      a.options[arg] = "";
    } else if (arg.starts_with("--") && i + 1 < argc) {
      a.options[arg] = argv[++i];
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

Result<int> number(const std::string& text, int max) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0 || v > max) {
    return fail(ErrorCode::kInvalidArgument, "bad number \"" + text + "\"");
  }
  return v;
}

Result<std::vector<uint16_t>> ports(const std::string& list) {
  std::vector<uint16_t> out;
  size_t start = 0;
  while (start < list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    auto p = number(list.substr(start, comma - start), 65535);
    if (!p) return fail(p.error());
    out.push_back(static_cast<uint16_t>(*p));
    start = comma + 1;
  }
  return out;
}

Result<void> connect_in(const std::string& netns, const std::string& port_text) {
  auto port = number(port_text, 65535);
  if (!port) return fail(port.error());
  auto fd = socket_in_netns(netns);
  if (!fd) return fail(fd.error());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(*port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(*fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{*fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, 5000) == 1)
      ::getsockopt(*fd, SOL_SOCKET, SO_ERROR, &err, &len);
    else
      err = ETIMEDOUT;
    rc = err == 0 ? 0 : -1;
    errno = err;
  }
  if (rc != 0) {
    int err = errno;
    ::close(*fd);
    return fail(ErrorCode::kRefused,
                "connect to 127.0.0.1:" + port_text + " in " + netns + ": " + std::strerror(err));
  }
  (void)!::write(*fd, "probe\n", 6);
  ::close(*fd);
  std::puts("connected");
  return {};
}

Result<void> pod_up(const Args& a) {
  if (a.positional.size() != 4) {
    return fail(ErrorCode::kInvalidArgument, "usage: pod-up NS VETH IP HOSTSFILE [options]");
  }
  PodNetworkSpec spec;
  spec.netns = a.positional[0];
  spec.host_veth = a.positional[1];
  spec.ip = a.positional[2];
  auto text = fs::read_file(a.positional[3]);
  if (!text) return fail(text.error());
  auto hosts = parse_hosts(*text);
  if (!hosts) return fail(hosts.error());
  spec.hosts = std::move(*hosts);
  spec.bridge = a.get("--bridge", spec.bridge);
  spec.gateway = a.get("--gateway", spec.gateway);
  auto prefix = number(a.get("--prefix", "16"), 32);
  if (!prefix) return fail(prefix.error());
  spec.prefix_len = *prefix;
  auto skip_out = ports(a.get("--skip-outbound-ports", ""));
  if (!skip_out) return fail(skip_out.error());
  spec.interception.outbound_ports_to_ignore = *skip_out;
  auto skip_in = ports(a.get("--skip-inbound-ports", ""));
  if (!skip_in) return fail(skip_in.error());
  for (uint16_t p : *skip_in) spec.interception.inbound_ports_to_ignore.push_back(p);
  return create_pod_network(spec);
}

Result<void> dispatch(const std::string& command, const Args& a) {
  if (command == "bridge-up") {
    BridgeSpec spec;
    spec.name = a.get("--name", spec.name);
    spec.address = a.get("--address", spec.address);
    auto prefix = number(a.get("--prefix", "16"), 32);
    if (!prefix) return fail(prefix.error());
    spec.prefix_len = *prefix;
    auto made = ensure_bridge(spec);
    if (!made) return fail(made.error());
    std::printf("bridge=%s created=%d forward_rule=%d\n", made->name.c_str(), made->created,
                made->forward_rule);
    return {};
  }
  if (command == "bridge-down") {
    return remove_bridge(a.get("--name", "lmesh0"), a.options.contains("--forward-rule"));
  }
  if (command == "pod-up") return pod_up(a);
  if (command == "pod-down" && a.positional.size() == 2) {
    return remove_pod_network(a.positional[0], a.positional[1]);
  }
  if (command == "leftovers") {
    for (const std::string& name : leftover_networks()) std::puts(name.c_str());
    return {};
  }
  if (command == "connect" && a.positional.size() == 2) {
    return connect_in(a.positional[0], a.positional[1]);
  }
  if (command == "rules") {
    std::fputs(interception_rules({}).c_str(), stdout);
    return {};
  }
  return fail(ErrorCode::kInvalidArgument, "unknown command or wrong arguments: " + command);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: lmesh-host-net-probe COMMAND [ARGS] (see probe_main.cc)\n", stderr);
    return 2;
  }
  auto done = dispatch(argv[1], parse(argc, argv));
  if (!done) {
    std::fprintf(stderr, "lmesh-host-net-probe: %s\n", done.error().describe().c_str());
    return 1;
  }
  return 0;
}
