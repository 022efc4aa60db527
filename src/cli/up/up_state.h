// state.json: everything a running `lmesh up` has made (processes, namespaces, links, rules),
// written before and after each change so that `lmesh down` can undo all of it even after
// `lmesh up` itself died. `lmesh check` reads it too (src/cli/README.md "State directory").
#pragma once

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace lmesh::up {

// A process is named by its pid and its start time (field 22 of /proc/PID/stat, in clock
// ticks since boot), so that a pid reused by an unrelated process is never signalled.
struct ProcessRef {
  pid_t pid = 0;
  uint64_t start_time = 0;

  bool operator==(const ProcessRef&) const = default;
};

// The start time of `pid` now, or nullopt when no such process exists.
std::optional<uint64_t> process_start_time(pid_t pid);
ProcessRef process_ref(pid_t pid);  // {pid, its start time}; {0, 0} when it is gone
// The very process `ref` names is still running (and not a zombie).
bool alive(const ProcessRef& ref);

struct ControllerState {
  std::string addr;
  ProcessRef process;
};

struct PodState {
  std::string name;
  std::string namespace_name;
  std::string workload;
  std::string identity;
  std::string ip;
  std::string netns;  // empty in loopback mode
  std::string host_veth;
  std::string admin;
  ProcessRef app;
  ProcessRef proxy;
};

struct UpState {
  std::string version;
  std::string mode;  // "netns" | "loopback"
  ProcessRef up;
  std::string mesh_file;
  ControllerState identity;
  ControllerState destination;
  ControllerState tap;
  std::string bridge;  // netns mode, once made
  bool forward_rule = false;
  std::vector<PodState> pods;
};

nlohmann::json to_json(const UpState& state);
Result<UpState> parse_state(const nlohmann::json& value);

// `<dir>/state.json`, replaced by rename so a reader never sees half a file.
Result<void> write_state(const std::string& dir, const UpState& state);
// kNotFound when there is none.
Result<UpState> read_state(const std::string& dir);
void remove_state(const std::string& dir);

// --state-dir, else LMESH_STATE_DIR, else /var/lib/lmesh/up as root, else
// $XDG_STATE_HOME/lmesh/up, else ~/.local/state/lmesh/up.
std::string default_state_dir();

}  // namespace lmesh::up
