// Runs a program to completion, without a shell, and captures what it printed. For the
// host-network set-up of `lmesh up` (ip, iptables-restore), which is a handful of short,
// blocking commands at start-up and shut-down: no event loop needed.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace lmesh::host {

struct CommandOptions {
  // Written to the program's stdin, which is then closed; without it stdin is /dev/null.
  std::optional<std::string> stdin_text = std::nullopt;
  // The program is killed (SIGKILL) when it has not exited by then.
  std::chrono::milliseconds timeout{10'000};
};

struct CommandOutput {
  int exit_code = 0;
  std::string out;  // stdout, at most kMaxCapture bytes
  std::string err;  // stderr, at most kMaxCapture bytes
};

// Output beyond this is read and dropped, so a chatty program can neither block on a full pipe
// nor grow our memory without bound.
inline constexpr size_t kMaxCapture = 1 << 20;

// Runs argv[0] (looked up in PATH) with argv and the current environment. A program that exits
// 0 gives its output. Errors (each message names the command line):
// - kNotFound: the program cannot be started (e.g. not installed);
// - kIo: it exited non-zero or died from a signal: "`ip link add ...` exited with 2: <first
//   line of its stderr>";
// - kTimeout: it ran past options.timeout and was killed.
Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  const CommandOptions& options = {});

// "ip link add x" for messages: arguments joined by spaces, those with spaces or quotes quoted.
std::string command_line(const std::vector<std::string>& argv);

}  // namespace lmesh::host
