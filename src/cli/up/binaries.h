// Where the lmesh binaries `lmesh up` starts are: LMESH_PROXY, LMESH_IDENTITY,
// LMESH_DESTINATION and LMESH_TAP name them explicitly (as the tests do); otherwise they are
// beside `lmesh` (an install) or in the build tree's src/<dir>/ (a build).
#pragma once

#include <string>

#include "common/result.h"

namespace lmesh::up {

struct Binaries {
  std::string proxy;
  std::string identity;
  std::string destination;
  std::string tap;
};

// kNotFound naming the binary that is missing and where it was looked for.
Result<Binaries> find_binaries();

}  // namespace lmesh::up
