// `lmesh dashboard [deploy/NAME] [flags]`: where lmesh-tap's web dashboard is. It checks that
// lmesh-tap answers (and, given a deployment, that it knows it) before printing the address, so
// that the link it prints works; it opens no browser (there may be none on this machine).
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/tap_client.h"
#include "cli/tap_options.h"

namespace lmesh::cli {
namespace {

std::string usage() {
  return "usage: lmesh dashboard [deploy/NAME] [flags]\n\n"
         "Prints the address of lmesh-tap's web dashboard: golden metrics per namespace and\n"
         "deployment, and live requests. With deploy/NAME, the address opens that deployment's\n"
         "live requests.\n\n"
         "flags:\n" +
         dashboard_flags_usage();
}

}  // namespace

int run_dashboard(Args args) {
  constexpr char kCommand[] = "lmesh dashboard";
  auto parsed = parse_dashboard_options(args, &environment);
  if (auto code = exit_after_parsing(parsed, kCommand, usage())) return *code;
  const DashboardOptions& options = **parsed;
  // lmesh-tap must answer; for a deployment's link it must also know the deployment (its 404
  // names it). The overview works on an empty mesh too, so it only asks /live.
  std::string probe = "/live";
  if (!options.deployment.empty()) {
    StatOptions stat;
    stat.target = "deploy/" + options.deployment;
    stat.namespace_name = options.namespace_name;
    probe = stat_request_target(stat);
  }
  if (!fetch_from_tap(kCommand, options.tap_addr, probe)) return kExitFailure;
  std::printf("lmesh dashboard: %s\n", dashboard_url(options).c_str());
  return 0;
}

}  // namespace lmesh::cli
