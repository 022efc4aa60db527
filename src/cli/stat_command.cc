// `lmesh stat TARGET [flags]`: the golden metrics of a target's resources over a window, from
// lmesh-tap's GET /v1/stat. The table is stat_table.h's; this file does the I/O.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/commands.h"
#include "cli/stat_table.h"
#include "cli/tap_client.h"
#include "cli/tap_options.h"

namespace lmesh::cli {
namespace {

std::string usage() {
  return "usage: lmesh stat TARGET [flags]\n\n"
         "Prints success rate, requests per second, latency percentiles and open connections\n"
         "of the requests that the target's pods served over the window, one row per resource.\n"
         "TARGET is KIND/NAME or KIND: deploy/web, deploy, pod/web-1, svc/web, ns.\n\n"
         "flags:\n" +
         stat_flags_usage();
}

}  // namespace

int run_stat(Args args) {
  constexpr char kCommand[] = "lmesh stat";
  auto parsed = parse_stat_options(args, &environment);
  if (auto code = exit_after_parsing(parsed, kCommand, usage())) return *code;
  const StatOptions& options = **parsed;
  auto body = fetch_from_tap(kCommand, options.tap_addr, stat_request_target(options));
  if (!body) return kExitFailure;
  if (options.output == StatOutput::kJson) {
    auto json = stat_rows_json(*body);
    if (!json) {
      std::fprintf(stderr, "%s: lmesh-tap's answer: %s\n", kCommand,
                   json.error().describe().c_str());
      return kExitFailure;
    }
    std::fputs(json->c_str(), stdout);
    return 0;
  }
  auto rows = parse_stat_rows(*body);
  if (!rows) {
    std::fprintf(stderr, "%s: lmesh-tap's answer: %s\n", kCommand, rows.error().describe().c_str());
    return kExitFailure;
  }
  if (rows->empty()) {
    std::fputs("No traffic found.\n", stderr);  // Linkerd's words, also on stderr
    return 0;
  }
  std::fputs(render_stat_table(*rows).c_str(), stdout);
  return 0;
}

}  // namespace lmesh::cli
