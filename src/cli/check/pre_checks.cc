#include "cli/check/pre_checks.h"

#include <utility>

namespace lmesh::cli::check {
namespace {

constexpr char kLoopbackOnly[] =
    "lmesh up will run in loopback mode only: no network namespaces, no iptables interception";

// A tool netns mode needs: an error as root, who would use netns mode; a warning otherwise.
CheckResult tool_check(const ToolFact& tool, bool root, std::string hint) {
  std::string description = tool.name + (root ? " is installed and usable" : " is installed");
  if (tool.path.empty()) {
    std::string error = tool.name + " is not found in PATH, /usr/sbin or /sbin";
    if (!root) {
      return CheckResult::warning(description, error + "; netns mode needs it", std::move(hint));
    }
    return CheckResult::failure(description, error, std::move(hint));
  }
  if (tool.run.tried && !tool.run.error.empty()) {
    return CheckResult::failure(description, tool.run.error, std::move(hint));
  }
  return CheckResult::success(description);
}

}  // namespace

Report pre_report(const PreFacts& facts) {
  Category category{"pre-install", {}};
  auto& checks = category.checks;

  if (facts.root) {
    checks.push_back(CheckResult::success("running as root"));
  } else {
    checks.push_back(CheckResult::warning(
        "running as root", "running as uid " + std::to_string(facts.uid) + ": " + kLoopbackOnly,
        "run lmesh up as root (sudo) for the real traffic path"));
  }

  constexpr char kNetns[] = "network namespaces are supported";
  if (facts.netns_supported) {
    checks.push_back(CheckResult::success(kNetns));
  } else if (facts.root) {
    checks.push_back(CheckResult::failure(kNetns, "/proc/self/ns/net does not exist",
                                          "a kernel with CONFIG_NET_NS is needed for netns mode"));
  } else {
    checks.push_back(CheckResult::warning(kNetns, "/proc/self/ns/net does not exist",
                                          "loopback mode does not need them"));
  }
  if (facts.netns_create.tried) {
    constexpr char kCreate[] = "network namespaces can be created";
    if (facts.netns_create.error.empty()) {
      checks.push_back(CheckResult::success(kCreate));
    } else {
      checks.push_back(CheckResult::failure(
          kCreate, facts.netns_create.error,
          "netns mode runs `ip netns add`: install iproute2; in a container, give it "
          "CAP_SYS_ADMIN"));
    }
  }

  checks.push_back(tool_check(facts.iptables, facts.root,
                              "install iptables; in a container, give it CAP_NET_ADMIN"));
  checks.push_back(tool_check(facts.setpriv, facts.root,
                              "install util-linux (setpriv runs each proxy as uid 2102)"));

  for (const PortFact& port : facts.ports) {
    std::string description =
        "port " + std::to_string(port.port) + " (" + port.controller + ") is free";
    if (port.error.empty()) {
      checks.push_back(CheckResult::success(description));
    } else {
      checks.push_back(CheckResult::failure(
          description, port.error,
          "stop what listens there: `ss -ltnp 'sport = :" + std::to_string(port.port) + "'`"));
    }
  }

  std::string writable = "state dir " + facts.state_dir + " is writable";
  if (facts.state_dir_error.empty()) {
    checks.push_back(CheckResult::success(writable));
  } else {
    checks.push_back(CheckResult::failure(writable, facts.state_dir_error,
                                          "pass a writable --state-dir (or LMESH_STATE_DIR)"));
  }

  constexpr char kNoMesh[] = "no mesh is running already";
  if (!facts.existing_up || facts.existing_up->liveness == up::Liveness::kNotStarted) {
    checks.push_back(CheckResult::success(kNoMesh));
  } else if (facts.existing_up->liveness == up::Liveness::kAlive) {
    checks.push_back(CheckResult::failure(
        kNoMesh,
        "lmesh up (pid " + std::to_string(facts.existing_up->pid) + ") runs with state in " +
            facts.state_dir,
        "`lmesh check` checks it; `lmesh down --state-dir " + facts.state_dir + "` stops it"));
  } else {
    checks.push_back(CheckResult::warning(
        kNoMesh, "an lmesh up that did not stop cleanly left its state in " + facts.state_dir,
        "`lmesh down --state-dir " + facts.state_dir + "` removes what it left"));
  }

  Report report;
  report.categories.push_back(std::move(category));
  return report;
}

}  // namespace lmesh::cli::check
