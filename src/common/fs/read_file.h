// Whole, bounded reads of the small files the services are configured with: PEM bundles,
// kubeconfigs, tokens. Blocking, on purpose: they are a few KiB on a local or tmpfs disk, read
// at start-up and again only when they change or a connection is remade, so a thread pool
// round trip would cost more than the read.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"

namespace lmesh::fs {

// The file's bytes. Errors name the file and the reason: "cannot open P: <strerror>",
// "cannot read P: <strerror>" (kIo), "P is larger than N bytes" (kTooLarge); the services'
// start-up messages and their tests rely on these words.
Result<std::string> read_file(const std::string& path, size_t max_bytes = 1 << 20);

}  // namespace lmesh::fs
