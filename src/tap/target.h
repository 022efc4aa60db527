// The `target` parameter of /v1/tap and /v1/stat (README.md "Targets"): KIND or KIND/NAME,
// with the kind's aliases folded into one canonical spelling. lmesh-destination checks the
// same grammar; checking here too lets a bad request fail with 400 before any network call.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace lmesh::tap {

enum class TargetKind { kDeploy, kPod, kSvc, kNs };

struct Target {
  TargetKind kind = TargetKind::kDeploy;
  std::string name;  // empty: every resource of the kind

  // "deploy/web", "pod", ...: the canonical spelling, for lmesh-destination's query.
  std::string to_string() const;
};

std::string_view to_string(TargetKind kind);
Result<Target> parse_target(std::string_view text);
// A Kubernetes namespace name (an RFC 1123 label).
bool valid_namespace(std::string_view ns);

}  // namespace lmesh::tap
