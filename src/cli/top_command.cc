// `lmesh top TARGET [flags]`: the busiest routes of a target's pods, live, from lmesh-tap's
// GET /v1/tap. The table is top_table.h's; this file decides when to draw it.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/commands.h"
#include "cli/tap_client.h"
#include "cli/tap_options.h"
#include "cli/terminal.h"
#include "cli/top_table.h"

namespace lmesh::cli {
namespace {

// Redraws at most this often: faster is unreadable and costs a terminal more than it shows.
constexpr std::chrono::milliseconds kRedrawEvery{500};

std::string usage() {
  return "usage: lmesh top TARGET [flags]\n\n"
         "Shows the busiest (source, destination, method, path) groups of the target's requests,\n"
         "redrawn in place on a terminal until Ctrl-C; printed once at the end otherwise.\n\n"
         "flags:\n" +
         tap_flags_usage(/*allow_output=*/false);
}

void draw(const TopTable& table) {
  // Keep the header and a last line on the screen; the busiest groups come first anyway.
  size_t rows = terminal_rows();
  std::string text = table.render(rows > 2 ? rows - 2 : 0);
  std::fputs(kClearScreen, stdout);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

int run_top(Args args) {
  constexpr char kCommand[] = "lmesh top";
  auto parsed = parse_tap_options(args, &environment, /*allow_output=*/false);
  if (auto code = exit_after_parsing(parsed, kCommand, usage())) return *code;
  const TapOptions& options = **parsed;
  bool terminal = stdout_is_terminal();
  TopTable table;
  bool changed = terminal;  // a terminal gets the (empty) table at once
  StreamHandlers handlers;
  handlers.on_line = [&](std::string_view line) {
    if (auto event = parse_tap_event(line)) changed |= table.observe(*event);
  };
  if (terminal) {
    handlers.tick_every = kRedrawEvery;
    handlers.on_tick = [&] {
      if (changed) draw(table);
      changed = false;
    };
  }
  int code = follow_tap_stream(kCommand, options.tap_addr, tap_request_target(options),
                               std::move(handlers));
  if (code != 0) return code;
  if (terminal) {
    draw(table);
  } else {
    std::fputs(table.render().c_str(), stdout);
  }
  return 0;
}

}  // namespace lmesh::cli
