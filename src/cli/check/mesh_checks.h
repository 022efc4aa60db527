// The checks of a running mesh (without --pre), judged from state.json and what gather.h saw.
// Pure: every input is given, the time included.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "cli/check/cert_verdict.h"
#include "cli/check/check_report.h"
#include "cli/check/identity_checks.h"
#include "cli/check/observations.h"
#include "cli/up/up_state.h"
#include "common/result.h"

namespace lmesh::cli::check {

// A proxy renews its certificate at 70 % of its 24 h life; one that has under an hour left has
// missed several renewals.
inline constexpr std::chrono::seconds kProxyCertMargin = std::chrono::hours(1);

struct MeshContext {
  std::string state_dir;    // for the paths in hints (logs, state.json)
  std::string cli_version;  // this lmesh's
  TimePoint now;
};

// The one category shown when state.json is missing or unreadable: "no mesh found".
// `why` is kNotFound when there is no state.json.
Report no_mesh_report(const Error& why);

Report mesh_report(const up::UpState& state, const MeshObservations& seen, const CaFiles& ca,
                   const MeshContext& context);

}  // namespace lmesh::cli::check
