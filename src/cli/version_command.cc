// `lmesh version`: the version this CLI was built as (meson's project version).
#include <cstdio>

#include "cli/commands.h"

namespace lmesh::cli {

int run_version(Args args) {
  if (!args.empty() && args[0] != "--help" && args[0] != "-h") {
    std::fprintf(stderr, "lmesh version: takes no arguments\n");
    return kExitUsage;
  }
  std::printf("lmesh %s\n", LMESH_VERSION);
  return 0;
}

}  // namespace lmesh::cli
