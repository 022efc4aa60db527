// Undoing what a state.json records, for `lmesh down` after `lmesh up` died and for `lmesh up`
// finding such a leftover: processes (SIGTERM, SIGKILL after a grace), pod namespaces, the
// bridge and its rule, then state.json itself. Blocking; idempotent.
#pragma once

#include <cstdio>
#include <string>

#include "cli/up/up_state.h"

namespace lmesh::up {

// `out` gets one line per thing removed (nullptr: quiet). Returns the number of problems met
// (each also written to stderr).
int teardown(const UpState& state, const std::string& state_dir, std::FILE* out);

}  // namespace lmesh::up
