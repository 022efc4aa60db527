// `lmesh down`: stops the mesh `lmesh up` runs from a state directory. A live `lmesh up` is
// asked to stop (SIGTERM: it stops its pods, then its controllers, and removes what it made);
// if it is gone, what its state.json records is undone here (teardown.h).
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/up/teardown.h"
#include "cli/up/up_state.h"
#include "common/config/duration.h"

namespace lmesh::cli {
namespace {

constexpr char kDownUsage[] =
    "usage: lmesh down [--state-dir DIR] [--timeout DUR]\n\n"
    "Stops the mesh that `lmesh up` runs from DIR and removes every process, network namespace,\n"
    "interface and iptables rule it made, also when `lmesh up` itself has died.\n\n"
    "flags:\n"
    "  --state-dir DIR   as for lmesh up\n"
    "  --timeout DUR     how long lmesh up may take to stop before it is killed (60s)\n";

}  // namespace

int run_down(Args args) {
  std::string state_dir;  // --state-dir, else up::default_state_dir()
  std::chrono::milliseconds timeout{60'000};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kDownUsage, stdout);
      return 0;
    } else if (a == "--state-dir" && i + 1 < args.size()) {
      state_dir = args[++i];
    } else if (a == "--timeout" && i + 1 < args.size()) {
      auto d = config::parse_duration(args[++i]);
      if (!d) {
        std::fprintf(stderr, "lmesh down: invalid --timeout: %s\n", d.error().describe().c_str());
        return kExitUsage;
      }
      timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    } else {
      std::fprintf(stderr, "lmesh down: unexpected argument '%s'\n\n%s", a.c_str(), kDownUsage);
      return kExitUsage;
    }
  }
  if (state_dir.empty()) {
    auto dir = up::default_state_dir();
    if (!dir) {
      std::fprintf(stderr, "lmesh down: %s\n\n%s", dir.error().describe().c_str(), kDownUsage);
      return kExitUsage;
    }
    state_dir = std::move(*dir);
  }
  auto state = up::read_state(state_dir);
  if (!state) {
    if (state.error().code() == ErrorCode::kNotFound) {
      std::printf("lmesh down: no mesh is running (nothing recorded in %s)\n", state_dir.c_str());
      return 0;
    }
    std::fprintf(stderr, "lmesh down: %s\n", state.error().describe().c_str());
    return kExitFailure;
  }
  if (up::alive(state->up)) {
    std::printf("lmesh down: stopping lmesh up (pid %d)\n", state->up.pid);
    std::fflush(stdout);
    ::kill(state->up.pid, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (up::alive(state->up) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (up::alive(state->up)) {
      std::printf("lmesh down: lmesh up did not stop within the timeout; killing it\n");
      ::kill(state->up.pid, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    auto left = up::read_state(state_dir);
    if (!left) {
      std::printf("lmesh down: done\n");
      return 0;
    }
    state = std::move(left);
  }
  std::printf("lmesh down: lmesh up is not running; removing what %s/state.json records\n",
              state_dir.c_str());
  int problems = up::teardown(*state, state_dir, stdout);
  if (problems != 0) {
    std::fprintf(stderr, "lmesh down: %d things could not be removed (above)\n", problems);
    return kExitFailure;
  }
  std::printf("lmesh down: done\n");
  return 0;
}

}  // namespace lmesh::cli
