// lmesh: the command-line tool. See README.md in this directory.
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/commands.h"

namespace {

constexpr lmesh::cli::Command kCommands[] = {
    {"check", "diagnose the mesh: control plane, identity, proxies (--pre: before lmesh up)",
     &lmesh::cli::run_check},
    {"dashboard", "where the web dashboard is (lmesh-tap), checked to answer",
     &lmesh::cli::run_dashboard},
    {"down", "stop what lmesh up started and remove it", &lmesh::cli::run_down},
    {"identity", "manage the mesh's certificate authority (init)", &lmesh::cli::run_identity},
    {"stat", "success rate, rate and latency of a target's pods (lmesh-tap)",
     &lmesh::cli::run_stat},
    {"tap", "print a target's live requests (lmesh-tap)", &lmesh::cli::run_tap},
    {"top", "a live table of a target's busiest routes (lmesh-tap)", &lmesh::cli::run_top},
    {"up", "run a whole mesh on this machine: controllers, workloads, proxies",
     &lmesh::cli::run_up},
    {"version", "print the version", &lmesh::cli::run_version},
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return lmesh::cli::dispatch("lmesh", kCommands, args);
}
