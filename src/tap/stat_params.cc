#include "tap/stat_params.h"

#include "common/config/duration.h"

namespace lmesh::tap {

Result<StatParams> parse_stat_params(const api::QueryParams& query) {
  StatParams p;
  bool has_target = false;
  for (const auto& [key, value] : query) {
    if (key == "target") {
      auto t = parse_target(value);
      if (!t) return fail(ErrorCode::kInvalidArgument, "bad target: " + t.error().message());
      p.target = std::move(*t);
      has_target = true;
    } else if (key == "namespace") {
      if (!valid_namespace(value)) {
        return fail(ErrorCode::kInvalidArgument,
                    "bad namespace: '" + value + "' is not a namespace");
      }
      p.namespace_ = value;
    } else if (key == "window") {
      auto d = config::parse_duration(value);
      if (!d || d->count() <= 0) {
        return fail(ErrorCode::kInvalidArgument,
                    "bad window: '" + value + "' is not a positive duration (e.g. 30s, 1m)");
      }
      p.window = *d;
    } else {
      return fail(ErrorCode::kInvalidArgument, "unknown parameter " + key);
    }
  }
  if (!has_target) {
    return fail(ErrorCode::kInvalidArgument,
                "bad target: the target parameter (e.g. deploy/web) is required");
  }
  return p;
}

}  // namespace lmesh::tap
