// `lmesh check`'s flags, parsed into typed options without any I/O, and where the state of
// `lmesh up` lives (notes: the up contract's "state dir").
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "cli/command.h"
#include "common/config/flags.h"
#include "common/result.h"

namespace lmesh::cli::check {

enum class Output { kTable, kJson };

struct CheckOptions {
  bool pre = false;       // the checks before `lmesh up` instead of those of a running mesh
  std::string state_dir;  // --state-dir, else LMESH_STATE_DIR, else the default for the user
  Output output = Output::kTable;
  // Retry failing checks until they pass or this much time has gone; 0: one round only.
  std::chrono::milliseconds wait{0};
};

// Options, nullopt when --help was asked, or a usage error (kInvalidArgument, naming the flag
// and the value). `getenv_fn` is asked for LMESH_STATE_DIR, XDG_STATE_HOME and HOME only;
// `is_root` picks the default state dir (up::default_state_dir, src/cli/up/up_state.h, the one
// `lmesh up` uses).
Result<std::optional<CheckOptions>> parse_check_options(Args args, config::GetEnvFn getenv_fn,
                                                        bool is_root);

std::string check_usage();

}  // namespace lmesh::cli::check
