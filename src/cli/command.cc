#include "cli/command.h"

#include <cstdio>
#include <string>

namespace lmesh::cli {
namespace {

void print_table(std::FILE* out, std::string_view path, std::span<const Command> commands) {
  std::fprintf(out, "usage: %.*s <command> [flags]\n\ncommands:\n", static_cast<int>(path.size()),
               path.data());
  for (const Command& c : commands) {
    std::fprintf(out, "  %-12.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                 static_cast<int>(c.summary.size()), c.summary.data());
  }
  std::fprintf(out, "\nRun '%.*s <command> --help' for a command's flags.\n",
               static_cast<int>(path.size()), path.data());
}

}  // namespace

int dispatch(std::string_view path, std::span<const Command> commands, Args args) {
  if (args.empty()) {
    print_table(stderr, path, commands);
    return kExitUsage;
  }
  const std::string& name = args[0];
  if (name == "--help" || name == "-h" || name == "help") {
    print_table(stdout, path, commands);
    return 0;
  }
  for (const Command& c : commands) {
    if (c.name == name) return c.run(args.subspan(1));
  }
  std::fprintf(stderr, "%.*s: unknown command '%s'\n\n", static_cast<int>(path.size()), path.data(),
               name.c_str());
  print_table(stderr, path, commands);
  return kExitUsage;
}

}  // namespace lmesh::cli
