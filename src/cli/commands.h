// Every top-level `lmesh` subcommand, one file each. To add one: write `int run_x(Args)` in
// x_command.cc, declare it here, add a row to kCommands in main.cc and the file to meson.build.
#pragma once

#include "cli/command.h"

namespace lmesh::cli {

int run_version(Args args);    // version_command.cc
int run_up(Args args);         // up/up_command.cc
int run_down(Args args);       // up/down_command.cc
int run_check(Args args);      // check/check_command.cc
int run_identity(Args args);   // identity_command.cc: `identity init`
int run_tap(Args args);        // tap_command.cc
int run_stat(Args args);       // stat_command.cc
int run_top(Args args);        // top_command.cc
int run_dashboard(Args args);  // dashboard_command.cc

}  // namespace lmesh::cli
