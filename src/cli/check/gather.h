// The I/O of the checks of a running mesh: /proc for the processes state.json names, the CA
// files, and the probes (probes.h) to the controllers and proxies.
#pragma once

#include <chrono>
#include <string>

#include "cli/check/identity_checks.h"
#include "cli/check/observations.h"
#include "cli/up/up_state.h"
#include "common/result.h"

namespace lmesh::cli::check {

// Whether the process is the one state.json recorded (/proc/PID/stat's start time).
ProcessObservation observe_process(const up::ProcessRef& process);

// <state_dir>/ca/ca.crt and issuer.crt.
CaFiles read_ca_files(const std::string& state_dir);

// Every process, and every probe at once; `timeout` bounds each request.
MeshObservations observe_mesh(const up::UpState& state, const CaFiles& ca,
                              std::chrono::milliseconds timeout);

}  // namespace lmesh::cli::check
