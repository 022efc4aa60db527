// Whole reads of the small files the Kubernetes backend depends on: the kubeconfig, the CA
// bundle and the ServiceAccount token. Blocking, on purpose: they are a few KiB on a local or
// tmpfs disk, read at start and once per (re)connect of a watch.
#pragma once

#include <string>

#include "common/result.h"

namespace lmesh::destination::kubernetes {

// The file's bytes; errors name the file and the reason (ENOENT, EACCES, too large).
Result<std::string> read_small_file(const std::string& path, size_t max_bytes = 1 << 20);

}  // namespace lmesh::destination::kubernetes
