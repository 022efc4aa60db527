// lmesh_build_info: which lmesh a binary is, as linkerd2-proxy's proxy_build_info: a gauge
// that is always 1 and whose labels carry the facts, so that a query can join on them and
// `lmesh check` can tell a process left over from another version.
#pragma once

#include <string_view>

#include "common/metrics/snapshot.h"

namespace lmesh::metrics {

inline constexpr std::string_view kBuildInfoName = "lmesh_build_info";

// This build's version: meson's project version, compiled in as LMESH_VERSION (as `lmesh
// version` prints it).
std::string_view build_version();

// Appends `lmesh_build_info{version="0.1.0",binary="lmesh-proxy"} 1`. Like
// append_process_metrics(), once per scrape, after merging the worker shards.
void append_build_info(Snapshot& snapshot, std::string_view binary);

}  // namespace lmesh::metrics
