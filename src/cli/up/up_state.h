// state.json: everything a running `lmesh up` has made (processes, namespaces, links, rules),
// written before and after each change so that `lmesh down` can undo all of it even after
// `lmesh up` itself died. `lmesh check` reads it too. This is its one reader and writer (the up
// contract, src/cli/README.md "State directory"), a library of its own (lmesh_up_state) so that
// check links it without the rest of up.
//
// Reading is type-checked and names the field at fault ("state.json: /pods/0/admin: must be a
// string"); fields it does not know are ignored, so that a newer `lmesh up` may add some
// without breaking an older `lmesh check` or `lmesh down`.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "cli/up/process_ref.h"
#include "common/result.h"

namespace lmesh::up {

struct ControllerState {
  std::string addr;  // HOST:PORT of its API, which also answers /ready and /metrics
  ProcessRef process;
};

struct PodState {
  std::string name;  // "web-0"
  std::string namespace_name;
  std::string workload;  // "deploy/web"
  std::string identity;  // the proxy's mesh identity; empty: the proxy runs without one
  std::string ip;
  std::string netns;  // empty in loopback mode
  std::string host_veth;
  std::string admin;  // HOST:PORT of the proxy's admin server
  ProcessRef app;
  ProcessRef proxy;

  std::string qualified_name() const { return namespace_name + "/" + name; }  // "default/web-0"
};

struct UpState {
  std::string version;  // of the lmesh that wrote the file
  std::string mode;     // "netns" | "loopback"
  ProcessRef up;
  std::string mesh_file;
  ControllerState identity;
  ControllerState destination;
  ControllerState tap;
  std::string bridge;  // netns mode, once made
  bool forward_rule = false;
  std::vector<PodState> pods;
};

// The controllers every mesh has, by name, in the order they start and are checked.
inline constexpr std::string_view kControllerNames[] = {"identity", "destination", "tap"};
struct NamedController {
  std::string_view name;  // as kControllerNames
  const ControllerState* state;
};
std::array<NamedController, 3> controllers(const UpState& state);

nlohmann::json to_json(const UpState& state);
// Errors are kInvalidArgument and name the field: "state.json: /controllers/tap: is required".
Result<UpState> parse_state(std::string_view text);
// Only `up_pid` and `up_start_time`: enough to tell whether a mesh runs, even from a
// state.json written half-way through start-up or by another version.
Result<ProcessRef> parse_up_process(std::string_view text);

// `<dir>/state.json`, replaced by rename so a reader never sees half a file.
Result<void> write_state(const std::string& dir, const UpState& state);
// kNotFound when there is none; other errors name the file.
Result<UpState> read_state(const std::string& dir);
void remove_state(const std::string& dir);

// The state dir when no --state-dir names one: LMESH_STATE_DIR; as root /var/lib/lmesh/up;
// else $XDG_STATE_HOME/lmesh/up (an absolute one: the XDG base directory spec ignores a
// relative one) or ~/.local/state/lmesh/up. An error when none of these can be known (no HOME).
// `getenv_fn` is asked for those three variables only; the same type as config::GetEnvFn.
using GetEnvFn = const char* (*)(const char*);
Result<std::string> default_state_dir(GetEnvFn getenv_fn, bool is_root);
// The same for this process: its environment and effective uid.
Result<std::string> default_state_dir();

}  // namespace lmesh::up
