// Placeholder until `lmesh check` lands.
#include <cstdio>

#include "cli/commands.h"

namespace lmesh::cli {

int run_check(Args) {
  std::fputs("lmesh check: not built yet\n", stderr);
  return kExitFailure;
}

}  // namespace lmesh::cli
