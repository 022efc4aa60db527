// `lmesh tap TARGET [flags]`: live requests of a target's pods, one line per event, from
// lmesh-tap's GET /v1/tap. The lines are tap_format.h's; this file does the I/O.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/commands.h"
#include "cli/tap_client.h"
#include "cli/tap_format.h"
#include "cli/tap_options.h"
#include "cli/terminal.h"

namespace lmesh::cli {
namespace {

std::string usage() {
  return "usage: lmesh tap TARGET [flags]\n\n"
         "Prints the requests that the target's pods send and receive, as they happen, until\n"
         "Ctrl-C. TARGET is KIND/NAME or KIND: deploy/web, pod/web-1, svc/web, ns/default.\n\n"
         "flags:\n" +
         tap_flags_usage(/*allow_output=*/true);
}

}  // namespace

int run_tap(Args args) {
  auto parsed = parse_tap_options(args, &environment, /*allow_output=*/true);
  if (auto code = exit_after_parsing(parsed, "lmesh tap", usage())) return *code;
  const TapOptions& options = **parsed;
  bool json = options.output == TapOutput::kJson;
  TapFormatter formatter(TapFormatOptions{options.output == TapOutput::kWide,
                                          use_colour(stdout_is_terminal(), &environment)});
  StreamHandlers handlers;
  handlers.on_line = [&](std::string_view line) {
    if (json) {
      std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
    } else if (auto event = parse_tap_event(line); !event) {
      std::fprintf(stderr, "# skipped an event lmesh-tap sent: %s\n",
                   event.error().describe().c_str());
    } else if (auto out = formatter.format(*event)) {
      std::fprintf(out->to_stderr ? stderr : stdout, "%s\n", out->text.c_str());
    }
    // Each event as it comes, also into a pipe (`lmesh tap ... | grep`).
    std::fflush(stdout);
  };
  return follow_tap_stream("lmesh tap", options.tap_addr, tap_request_target(options),
                           std::move(handlers));
}

}  // namespace lmesh::cli
