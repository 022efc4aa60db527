#include "common/metrics/build_info.h"

#include <string>

#ifndef LMESH_VERSION
#error "LMESH_VERSION must be defined (src/common/metrics/meson.build)"
#endif

namespace lmesh::metrics {

std::string_view build_version() {
  return LMESH_VERSION;
}

void append_build_info(Snapshot& snapshot, std::string_view binary) {
  FamilySnapshot& f = snapshot.families.emplace_back();
  f.name = kBuildInfoName;
  f.help = "Which lmesh this process is: its version and binary (always 1).";
  f.type = MetricType::kGauge;
  f.label_names = {"version", "binary"};
  SeriesSnapshot& series = f.series.emplace_back();
  series.label_values = {std::string(build_version()), std::string(binary)};
  series.value = 1;
}

}  // namespace lmesh::metrics
