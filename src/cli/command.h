// The `lmesh` CLI's subcommands: each is a name, a one-line summary and a function of its
// remaining arguments that returns the exit code. Commands with subcommands of their own
// (`lmesh identity init`) dispatch through the same table type.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace lmesh::cli {

using Args = std::span<const std::string>;

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(Args args);
};

// Runs the command named by args[0] from `commands`, or prints the table (to stdout for
// help, to stderr with exit code 2 for a missing or unknown name). `path` is what was typed
// so far ("lmesh", "lmesh identity"), for messages.
int dispatch(std::string_view path, std::span<const Command> commands, Args args);

// Exit codes: 0 success, 1 the command failed, 2 it was used wrongly.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// The process environment as config::GetEnvFn (std::getenv's own type differs: char*, noexcept).
inline const char* environment(const char* name) {
  return std::getenv(name);
}

// After parsing a command's flags (options, "--help was asked", or a usage error): nullopt when
// the command goes on; otherwise its exit code, once the help (stdout, 0) or the error and the
// usage (stderr, 2) are printed.
template <class Options>
std::optional<int> exit_after_parsing(const Result<std::optional<Options>>& parsed,
                                      std::string_view command, const std::string& usage) {
  if (!parsed) {
    std::fprintf(stderr, "%.*s: %s\n\n%s", static_cast<int>(command.size()), command.data(),
                 parsed.error().describe().c_str(), usage.c_str());
    return kExitUsage;
  }
  if (!*parsed) {
    std::fputs(usage.c_str(), stdout);
    return 0;
  }
  return std::nullopt;
}

}  // namespace lmesh::cli
