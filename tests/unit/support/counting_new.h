// Heap allocations counted by replacing the global operator new, so a test can check that a
// path does not allocate. Link support/counting_new.cc into the test executable.
#pragma once

#include <cstddef>

namespace lmesh::testing {

// Allocations made through operator new (any non-aligned form) since the program started.
size_t heap_allocations();

}  // namespace lmesh::testing
