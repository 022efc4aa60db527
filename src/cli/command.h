// The `lmesh` CLI's subcommands: each is a name, a one-line summary and a function of its
// remaining arguments that returns the exit code. Commands with subcommands of their own
// (`lmesh identity init`) dispatch through the same table type.
#pragma once

#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

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

}  // namespace lmesh::cli
