// create_pod_network() and remove_pod_network() (host_network.h).
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <utility>

#include <spdlog/spdlog.h>

#include "cli/host/existing.h"
#include "cli/host/host_network.h"
#include "cli/host/run_command.h"

namespace lmesh::host {
namespace {

namespace stdfs = std::filesystem;

Result<void> run(std::vector<std::string> argv, std::optional<std::string> stdin_text = {}) {
  auto done = run_command(argv, CommandOptions{std::move(stdin_text)});
  if (!done) return fail(done.error());
  return {};
}

std::string netns_etc_dir(const std::string& netns) {
  return std::string(kNetnsEtcDir) + "/" + netns;
}

// /etc/netns/<netns>/<name>, which `ip netns exec` mounts over /etc/<name>. Written to a
// temporary name and renamed, so a reader never sees half a file.
Result<void> write_netns_file(const std::string& netns, const std::string& name,
                              std::string_view text) {
  std::error_code ec;
  stdfs::path dir = netns_etc_dir(netns);
  stdfs::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
  stdfs::path tmp = dir / (name + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return fail(ErrorCode::kIo, "cannot write " + tmp.string());
  }
  // Apps may run as any uid (the proxy as 2102): the file must be world-readable whatever
  // our umask is.
  stdfs::permissions(tmp, stdfs::perms(0644), ec);
  if (!ec) stdfs::rename(tmp, dir / name, ec);
  if (ec)
    return fail(ErrorCode::kIo, "cannot install " + (dir / name).string() + ": " + ec.message());
  return {};
}

Result<void> check(const PodNetworkSpec& spec) {
  if (!valid_netns_name(spec.netns)) {
    return fail(ErrorCode::kInvalidArgument, "bad network namespace name \"" + spec.netns + "\"");
  }
  if (!valid_link_name(spec.host_veth) || spec.host_veth == "eth0") {
    return fail(ErrorCode::kInvalidArgument, "bad veth name \"" + spec.host_veth + "\"");
  }
  if (netns_exists(spec.netns)) {
    return fail(ErrorCode::kInvalidArgument,
                "network namespace " + spec.netns + " already exists (left over? `lmesh down`)");
  }
  if (link_exists(spec.host_veth)) {
    return fail(ErrorCode::kInvalidArgument, "network interface " + spec.host_veth +
                                                 " already exists (left over? `lmesh down`)");
  }
  if (!is_bridge(spec.bridge)) {
    return fail(ErrorCode::kNotFound, "bridge " + spec.bridge + " does not exist");
  }
  return {};
}

// The steps after the namespace exists. The veth is created with its peer already inside the
// namespace, so the pod's eth0 never appears in the root namespace (where it would clash with
// the host's own eth0).
Result<void> set_up(const PodNetworkSpec& spec, const std::string& hosts_text) {
  const std::string& ns = spec.netns;
  const std::string cidr = spec.ip + "/" + std::to_string(spec.prefix_len);
  const std::vector<std::vector<std::string>> steps = {
      {"ip", "link", "add", spec.host_veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
      {"ip", "link", "set", spec.host_veth, "master", spec.bridge},
      {"ip", "link", "set", spec.host_veth, "up"},
      {"ip", "-n", ns, "link", "set", "lo", "up"},
      {"ip", "-n", ns, "addr", "add", cidr, "dev", "eth0"},
      {"ip", "-n", ns, "link", "set", "eth0", "up"},
      {"ip", "-n", ns, "route", "add", "default", "via", spec.gateway},
  };
  for (const auto& step : steps) {
    if (auto r = run(step); !r) return r;
  }
  // --noflush: add to the namespace's (empty) nat table rather than replace every table.
  std::vector<std::string> restore = netns_exec_prefix(ns);
  restore.insert(restore.end(), {"iptables-restore", "-w", "5", "--noflush"});
  if (auto r = run(restore, interception_rules(spec.interception)); !r) {
    return fail(Error::wrap(r.error(), "installing the interception rules"));
  }
  if (auto r = write_netns_file(ns, "hosts", hosts_text); !r) return r;
  return write_netns_file(ns, "resolv.conf", kPodResolvConf);
}

}  // namespace

Result<void> create_pod_network(const PodNetworkSpec& spec) {
  auto hosts_text = hosts_file_text(spec.hosts);
  if (!hosts_text) return fail(hosts_text.error());
  if (auto r = check(spec); !r) return r;
  if (auto r = run({"ip", "netns", "add", spec.netns}); !r) {
    return fail(Error::wrap(r.error(), "setting up the network of " + spec.netns));
  }
  if (auto r = set_up(spec, *hosts_text); !r) {
    Error e = Error::wrap(r.error(), "setting up the network of " + spec.netns);
    // check() made sure neither name existed before, so everything under them is ours.
    auto undone = remove_pod_network(spec.netns, spec.host_veth);
    if (!undone) spdlog::warn("undoing {}: {}", spec.netns, undone.error().describe());
    return fail(std::move(e));
  }
  spdlog::debug("network namespace {} ({}) is up on {}", spec.netns, spec.ip, spec.bridge);
  return {};
}

Result<void> remove_pod_network(const std::string& netns, const std::string& host_veth) {
  if (!valid_netns_name(netns) || !valid_link_name(host_veth)) {
    return fail(ErrorCode::kInvalidArgument,
                "bad pod network names \"" + netns + "\", \"" + host_veth + "\"");
  }
  // The veth first: deleting one end deletes the pair at once, whereas a deleted namespace
  // releases its devices later, from a kernel work queue, which would leave lmh<n> visible
  // for a moment after we return.
  if (link_exists(host_veth)) {
    // It can vanish meanwhile: its namespace peer going away (a dying namespace) takes it along.
    if (auto r = run({"ip", "link", "del", host_veth}); !r && link_exists(host_veth)) {
      return fail(Error::wrap(r.error(), "removing " + host_veth));
    }
  }
  if (netns_exists(netns)) {
    if (auto r = run({"ip", "netns", "del", netns}); !r) {
      return fail(Error::wrap(r.error(), "removing network namespace " + netns));
    }
  }
  std::error_code ec;
  stdfs::remove_all(netns_etc_dir(netns), ec);
  if (ec) {
    return fail(ErrorCode::kIo, "cannot remove " + netns_etc_dir(netns) + ": " + ec.message());
  }
  return {};
}

}  // namespace lmesh::host
