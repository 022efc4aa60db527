// The parameters of GET /v1/stat (README.md): target, namespace, window.
#pragma once

#include <chrono>
#include <string>

#include "common/api/request.h"
#include "common/result.h"
#include "tap/target.h"

namespace lmesh::tap {

struct StatParams {
  Target target;
  std::string namespace_ = "default";
  std::chrono::milliseconds window{60'000};
};

Result<StatParams> parse_stat_params(const api::QueryParams& query);

}  // namespace lmesh::tap
