// `lmesh check --pre`'s verdicts for root and for other users (src/cli/check/pre_checks.h).
#include "cli/check/pre_checks.h"

#include <catch2/catch.hpp>

namespace lmesh::cli::check {
namespace {

PreFacts good_root() {
  PreFacts f;
  f.root = true;
  f.netns_supported = true;
  f.netns_create = {true, ""};
  f.iptables = {"iptables", "/usr/sbin/iptables", {true, ""}};
  f.setpriv = {"setpriv", "/usr/bin/setpriv", {true, ""}};
  for (const ControlPlanePort& p : kControlPlanePorts)
    f.ports.push_back({p.port, p.controller, ""});
  f.state_dir = "/var/lib/lmesh/up";
  return f;
}

const CheckResult& check(const Report& r, std::string_view description) {
  for (const CheckResult& c : r.categories.at(0).checks) {
    if (c.description == description) return c;
  }
  FAIL("no check " << description);
  throw;
}

TEST_CASE("pre: a ready root machine passes", "[cli][check]") {
  Report r = pre_report(good_root());
  CHECK(r.success());
  REQUIRE(r.categories.size() == 1);
  CHECK(r.categories[0].name == "pre-install");
  CHECK(check(r, "network namespaces can be created").verdict == Verdict::kSuccess);
  CHECK(check(r, "port 8086 (lmesh-destination) is free").verdict == Verdict::kSuccess);
  CHECK(check(r, "iptables is installed and usable").verdict == Verdict::kSuccess);
}

TEST_CASE("pre: not root is loopback mode: warnings, not failures", "[cli][check]") {
  PreFacts f = good_root();
  f.root = false;
  f.uid = 1000;
  f.netns_create = {};
  f.iptables = {"iptables", "", {}};
  f.setpriv = {"setpriv", "/usr/bin/setpriv", {}};
  Report r = pre_report(f);
  CHECK(r.success());
  CHECK(check(r, "running as root").verdict == Verdict::kWarning);
  CHECK(check(r, "running as root").error.find("loopback mode only") != std::string::npos);
  CHECK(check(r, "iptables is installed").verdict == Verdict::kWarning);
  CHECK(check(r, "setpriv is installed").verdict == Verdict::kSuccess);
  for (const CheckResult& c : r.categories[0].checks) {
    CHECK(c.description != "network namespaces can be created");  // not tried
  }
}

TEST_CASE("pre: a busy port, a failed tool, an unwritable dir, a running mesh fail",
          "[cli][check]") {
  PreFacts f = good_root();
  f.ports[2].error = "cannot bind 0.0.0.0:8088: Address already in use";
  f.iptables.run = {true, "`iptables -w 2 -t nat -S` failed (exit 4): Permission denied"};
  f.state_dir_error = "cannot create a file in /var/lib/lmesh/up: Read-only file system";
  f.existing_up = ProcessObservation{77, up::Liveness::kAlive};
  Report r = pre_report(f);
  CHECK_FALSE(r.success());
  const CheckResult& port = check(r, "port 8088 (lmesh-tap) is free");
  CHECK(port.verdict == Verdict::kError);
  CHECK(port.hint.find("sport = :8088") != std::string::npos);
  CHECK(check(r, "iptables is installed and usable").verdict == Verdict::kError);
  CHECK(check(r, "state dir /var/lib/lmesh/up is writable").verdict == Verdict::kError);
  const CheckResult& running = check(r, "no mesh is running already");
  CHECK(running.error == "lmesh up (pid 77) runs with state in /var/lib/lmesh/up");

  f = good_root();
  f.existing_up = ProcessObservation{77, up::Liveness::kGone};  // crashed: its state is left
  CHECK(check(pre_report(f), "no mesh is running already").verdict == Verdict::kWarning);
}

}  // namespace
}  // namespace lmesh::cli::check
