// ensure_bridge() and remove_bridge() (host_network.h).
#include <optional>
#include <utility>

#include <spdlog/spdlog.h>

#include "cli/host/existing.h"
#include "cli/host/forward_rule.h"
#include "cli/host/host_network.h"
#include "cli/host/run_command.h"
#include "common/fs/read_file.h"

namespace lmesh::host {
namespace {

Result<void> run(std::vector<std::string> argv) {
  auto done = run_command(argv);
  if (!done) return fail(done.error());
  return {};
}

std::vector<std::string> forward_rule_command(std::string_view action, const std::string& bridge) {
  std::vector<std::string> argv = {"iptables", "-w", "5", std::string(action), "FORWARD"};
  if (action == "-I") argv.push_back("1");  // ahead of Docker's DOCKER-USER/DOCKER jumps
  for (std::string& arg : forward_rule_spec(bridge)) argv.push_back(std::move(arg));
  return argv;
}

// `iptables -C` exits 1 when the rule is absent; any other failure (no iptables, no
// permission) is a real error, which the -I or -D that follows will report.
bool forward_rule_present(const std::string& bridge) {
  return run_command(forward_rule_command("-C", bridge)).has_value();
}

Result<bool> forward_chain_needs_rule() {
  // Without br_netfilter there is no such file and bridged frames never see iptables.
  auto nf_call = fs::read_file("/proc/sys/net/bridge/bridge-nf-call-iptables", 64);
  if (!nf_call) return false;
  // With an empty listing the answer depends on the sysctl alone: skip iptables when it is 0.
  if (!forward_chain_may_drop(*nf_call, "")) return false;
  auto listing = run_command({"iptables", "-w", "5", "-S", "FORWARD"});
  if (!listing) return fail(Error::wrap(listing.error(), "reading the root FORWARD chain"));
  return forward_chain_may_drop(*nf_call, listing->out);
}

Result<void> set_up(const BridgeSpec& spec, BridgeNetwork& made) {
  if (!link_exists(spec.name)) {
    if (auto r = run({"ip", "link", "add", spec.name, "type", "bridge"}); !r) return r;
    made.created = true;
  } else if (!is_bridge(spec.name)) {
    return fail(ErrorCode::kInvalidArgument,
                "network interface " + spec.name + " exists and is not a bridge");
  }
  // `replace` rather than `add`: an address left from an earlier run is not an error.
  std::string cidr = spec.address + "/" + std::to_string(spec.prefix_len);
  if (auto r = run({"ip", "addr", "replace", cidr, "dev", spec.name}); !r) return r;
  if (auto r = run({"ip", "link", "set", spec.name, "up"}); !r) return r;

  auto needs_rule = forward_chain_needs_rule();
  if (!needs_rule) return fail(needs_rule.error());
  // A rule left by a crashed run counts as ours, so that it is recorded and removed.
  bool present = forward_rule_present(spec.name);
  if (*needs_rule && !present) {
    if (auto r = run(forward_rule_command("-I", spec.name)); !r) return r;
    spdlog::info("bridge {}: the FORWARD policy would drop bridged traffic; added an ACCEPT rule",
                 spec.name);
  }
  made.forward_rule = *needs_rule || present;
  return {};
}

}  // namespace

Result<BridgeNetwork> ensure_bridge(const BridgeSpec& spec) {
  if (!valid_link_name(spec.name)) {
    return fail(ErrorCode::kInvalidArgument, "bad bridge name \"" + spec.name + "\"");
  }
  BridgeNetwork made{spec.name, false, false};
  if (auto r = set_up(spec, made); !r) {
    Error e = Error::wrap(r.error(), "setting up bridge " + spec.name);
    // Undo only what this call made: an existing bridge may carry pods of a running mesh.
    // (Adding the FORWARD rule is the last step, so a failure never leaves one behind.)
    if (made.created) {
      auto undone = remove_bridge(spec.name, false);
      if (!undone) spdlog::warn("undoing bridge set-up: {}", undone.error().describe());
    }
    return fail(std::move(e));
  }
  return made;
}

Result<void> remove_bridge(const std::string& name, bool forward_rule) {
  if (!valid_link_name(name)) {
    return fail(ErrorCode::kInvalidArgument, "bad bridge name \"" + name + "\"");
  }
  if (forward_rule) {
    // -D removes one copy; a crash between two runs could have left more.
    for (int i = 0; i < 8 && forward_rule_present(name); ++i) {
      if (auto r = run(forward_rule_command("-D", name)); !r) {
        return fail(Error::wrap(r.error(), "removing the FORWARD rule for bridge " + name));
      }
    }
  }
  if (link_exists(name)) {
    if (auto r = run({"ip", "link", "del", name}); !r) {
      return fail(Error::wrap(r.error(), "removing bridge " + name));
    }
  }
  return {};
}

}  // namespace lmesh::host
