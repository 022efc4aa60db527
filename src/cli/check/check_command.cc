// `lmesh check [--pre] [--state-dir DIR] [-o table|json] [--wait DURATION]`: Linkerd-style
// diagnostics of the mesh `lmesh up` runs (README.md in this directory). This file is the
// glue: options, rounds of gathering and judging, output. The verdicts are in mesh_checks.h and
// pre_checks.h, the I/O in gather.h, pre_facts.cc and probes.h.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "cli/check/check_options.h"
#include "cli/check/check_report.h"
#include "cli/check/gather.h"
#include "cli/check/mesh_checks.h"
#include "cli/check/pre_checks.h"
#include "cli/commands.h"
#include "cli/terminal.h"
#include "cli/up/up_state.h"

namespace lmesh::cli {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Each request's bound: a healthy local server answers in milliseconds; one that takes seconds
// is itself worth a ×.
constexpr auto kProbeTimeout = 2s;
// Between rounds of --wait: often enough to end soon after the mesh is up, seldom enough not
// to load what is starting.
constexpr auto kRetryInterval = 1s;

check::Report one_round(const check::CheckOptions& options) {
  if (options.pre) return check::pre_report(check::gather_pre_facts(options.state_dir));
  auto state = up::read_state(options.state_dir);
  if (!state) return check::no_mesh_report(state.error());
  check::CaFiles ca = check::read_ca_files(options.state_dir);
  check::MeshObservations seen = check::observe_mesh(*state, ca, kProbeTimeout);
  check::MeshContext context{options.state_dir, LMESH_VERSION, std::chrono::system_clock::now()};
  return check::mesh_report(*state, seen, ca, context);
}

}  // namespace

int run_check(Args args) {
  constexpr char kCommand[] = "lmesh check";
  auto parsed = check::parse_check_options(args, &environment, geteuid() == 0);
  if (!parsed) {
    std::fprintf(stderr, "%s: %s\n\n%s", kCommand, parsed.error().describe().c_str(),
                 check::check_usage().c_str());
    return kExitUsage;
  }
  if (!*parsed) {
    std::fputs(check::check_usage().c_str(), stdout);
    return 0;
  }
  const check::CheckOptions& options = **parsed;

  // --wait: like `linkerd check --wait`, failing checks are tried again until they pass or the
  // time is up; only the last round is printed, so the output is one consistent picture.
  const Clock::time_point give_up = Clock::now() + options.wait;
  check::Report report = one_round(options);
  while (!report.success() && Clock::now() + kRetryInterval < give_up) {
    if (isatty(STDERR_FILENO) == 1) {
      std::fprintf(stderr, "waiting for checks to pass: %s\n",
                   report.first_failure()->description.c_str());
    }
    std::this_thread::sleep_for(kRetryInterval);
    report = one_round(options);
  }

  if (options.output == check::Output::kJson) {
    std::fputs(check::render_json(report).c_str(), stdout);
  } else {
    std::fputs(check::render_table(report, use_colour(stdout_is_terminal(), &environment)).c_str(),
               stdout);
  }
  return report.success() ? 0 : kExitFailure;
}

}  // namespace lmesh::cli
