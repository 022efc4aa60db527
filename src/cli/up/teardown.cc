#include "cli/up/teardown.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "cli/host/host_network.h"

namespace lmesh::up {
namespace {

using namespace std::chrono_literals;

void say(std::FILE* out, const std::string& line) {
  if (out == nullptr) return;
  std::fprintf(out, "  %s\n", line.c_str());
  std::fflush(out);
}

// Signals every live process of `refs`, waits up to `grace` for them to go, then SIGKILLs the
// rest. A pid whose start time changed is someone else's now and is left alone.
void stop_processes(const std::vector<std::pair<std::string, ProcessRef>>& refs,
                    std::chrono::milliseconds grace, std::FILE* out) {
  std::vector<std::pair<std::string, ProcessRef>> live;
  for (const auto& [name, ref] : refs) {
    if (!alive(ref)) continue;
    ::kill(ref.pid, SIGTERM);
    live.emplace_back(name, ref);
  }
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    bool any = false;
    for (const auto& [name, ref] : live) any = any || alive(ref);
    if (!any) break;
    std::this_thread::sleep_for(50ms);
  }
  for (const auto& [name, ref] : live) {
    if (alive(ref)) {
      ::kill(ref.pid, SIGKILL);
      say(out, "killed " + name + " (pid " + std::to_string(ref.pid) + ")");
    } else {
      say(out, "stopped " + name + " (pid " + std::to_string(ref.pid) + ")");
    }
  }
}

}  // namespace

int teardown(const UpState& state, const std::string& state_dir, std::FILE* out) {
  int problems = 0;
  std::vector<std::pair<std::string, ProcessRef>> pods;
  for (const PodState& pod : state.pods) {
    pods.emplace_back(pod.namespace_name + "/" + pod.name + " app", pod.app);
    pods.emplace_back(pod.namespace_name + "/" + pod.name + " proxy", pod.proxy);
  }
  stop_processes(pods, 5s, out);
  stop_processes({{"lmesh-tap", state.tap.process},
                  {"lmesh-destination", state.destination.process},
                  {"lmesh-identity", state.identity.process}},
                 5s, out);
  for (const PodState& pod : state.pods) {
    if (pod.netns.empty()) continue;
    if (auto ok = host::remove_pod_network(pod.netns, pod.host_veth); !ok) {
      std::fprintf(stderr, "lmesh: %s\n", ok.error().describe().c_str());
      ++problems;
    } else {
      say(out, "removed network namespace " + pod.netns);
    }
  }
  if (!state.bridge.empty()) {
    if (auto ok = host::remove_bridge(state.bridge, state.forward_rule); !ok) {
      std::fprintf(stderr, "lmesh: %s\n", ok.error().describe().c_str());
      ++problems;
    } else {
      say(out, "removed bridge " + state.bridge);
    }
  }
  remove_state(state_dir);
  return problems;
}

}  // namespace lmesh::up
