#include "cli/up/up_state.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>

#include "common/fs/read_file.h"

namespace lmesh::up {
namespace {

using json = nlohmann::json;

// ---- writing ----

json ref_json(const ProcessRef& ref) {
  return {{"pid", ref.pid}, {"start_time", ref.start_time}};
}

json controller_json(const ControllerState& c) {
  json out = ref_json(c.process);
  out["addr"] = c.addr;
  return out;
}

// ---- reading: each helper names the field it reads as a JSON pointer ----

std::unexpected<Error> bad(const std::string& pointer, std::string_view message) {
  return fail(ErrorCode::kInvalidArgument, "state.json: " + pointer + ": " + std::string(message));
}

Result<std::string> string_at(const json& object, const std::string& pointer, const char* key,
                              bool required) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) return bad(pointer + "/" + key, "is required");
    return std::string();
  }
  if (!it->is_string()) return bad(pointer + "/" + key, "must be a string");
  return it->get<std::string>();
}

Result<bool> bool_at(const json& object, const std::string& pointer, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return false;
  if (!it->is_boolean()) return bad(pointer + "/" + key, "must be true or false");
  return it->get<bool>();
}

// A whole number >= 0; 0 when absent (a process not started yet).
Result<uint64_t> count_at(const json& object, const std::string& pointer, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer() && it->get<int64_t>() >= 0) return it->get<uint64_t>();
  return bad(pointer + "/" + key, "must be a whole number >= 0");
}

Result<ProcessRef> process_at(const json& object, const std::string& pointer, const char* pid_key,
                              const char* start_key) {
  auto pid = count_at(object, pointer, pid_key);
  if (!pid) return fail(pid.error());
  if (*pid > static_cast<uint64_t>(INT_MAX)) return bad(pointer + "/" + pid_key, "is not a pid");
  auto start = count_at(object, pointer, start_key);
  if (!start) return fail(start.error());
  return ProcessRef{static_cast<pid_t>(*pid), *start};
}

// {"pid": 1, "start_time": 2} under `key`; absent: not running.
Result<ProcessRef> nested_process(const json& object, const std::string& pointer, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return ProcessRef{};
  if (!it->is_object()) return bad(pointer + "/" + key, "must be an object");
  return process_at(*it, pointer + "/" + key, "pid", "start_time");
}

Result<ControllerState> parse_controller(const json& controllers, std::string_view name) {
  std::string pointer = "/controllers/" + std::string(name);
  auto it = controllers.find(name);
  if (it == controllers.end()) return bad(pointer, "is required");
  if (!it->is_object()) return bad(pointer, "must be an object");
  ControllerState out;
  auto addr = string_at(*it, pointer, "addr", true);
  if (!addr) return fail(addr.error());
  out.addr = std::move(*addr);
  auto process = process_at(*it, pointer, "pid", "start_time");
  if (!process) return fail(process.error());
  out.process = *process;
  return out;
}

Result<PodState> parse_pod(const json& pod, const std::string& pointer) {
  if (!pod.is_object()) return bad(pointer, "must be an object");
  PodState out;
  struct Field {
    const char* key;
    std::string* into;
    bool required;
  };
  for (const Field& f :
       {Field{"name", &out.name, true}, Field{"namespace", &out.namespace_name, true},
        Field{"workload", &out.workload, false}, Field{"identity", &out.identity, false},
        Field{"ip", &out.ip, false}, Field{"netns", &out.netns, false},
        Field{"host_veth", &out.host_veth, false}, Field{"admin", &out.admin, true}}) {
    auto v = string_at(pod, pointer, f.key, f.required);
    if (!v) return fail(v.error());
    *f.into = std::move(*v);
  }
  auto app = nested_process(pod, pointer, "app");
  if (!app) return fail(app.error());
  out.app = *app;
  auto proxy = nested_process(pod, pointer, "proxy");
  if (!proxy) return fail(proxy.error());
  out.proxy = *proxy;
  return out;
}

// "network" is written in netns mode only, and only what exists.
Result<void> parse_network(const json& doc, UpState& out) {
  auto it = doc.find("network");
  if (it == doc.end() || it->is_null()) return {};
  if (!it->is_object()) return bad("/network", "must be an object");
  auto bridge = string_at(*it, "/network", "bridge", false);
  if (!bridge) return fail(bridge.error());
  out.bridge = std::move(*bridge);
  auto rule = bool_at(*it, "/network", "forward_rule");
  if (!rule) return fail(rule.error());
  out.forward_rule = *rule;
  return {};
}

Result<json> parse_object(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail(ErrorCode::kInvalidArgument, "state.json: not valid JSON");
  if (!doc.is_object()) return bad("", "must be an object");
  return doc;
}

bool set(const char* value) {
  return value != nullptr && *value != '\0';
}

const char* process_environment(const char* name) {
  return std::getenv(name);
}

}  // namespace

std::array<NamedController, 3> controllers(const UpState& state) {
  return {NamedController{kControllerNames[0], &state.identity},
          NamedController{kControllerNames[1], &state.destination},
          NamedController{kControllerNames[2], &state.tap}};
}

json to_json(const UpState& s) {
  json pods = json::array();
  for (const PodState& p : s.pods) {
    pods.push_back({{"name", p.name},
                    {"namespace", p.namespace_name},
                    {"workload", p.workload},
                    {"identity", p.identity},
                    {"ip", p.ip},
                    {"netns", p.netns},
                    {"host_veth", p.host_veth},
                    {"admin", p.admin},
                    {"app", ref_json(p.app)},
                    {"proxy", ref_json(p.proxy)}});
  }
  json out = {{"version", s.version},
              {"mode", s.mode},
              {"up_pid", s.up.pid},
              {"up_start_time", s.up.start_time},
              {"mesh_file", s.mesh_file},
              {"controllers",
               {{"identity", controller_json(s.identity)},
                {"destination", controller_json(s.destination)},
                {"tap", controller_json(s.tap)}}},
              {"pods", pods}};
  if (s.mode == "netns") out["network"] = {{"bridge", s.bridge}, {"forward_rule", s.forward_rule}};
  return out;
}

Result<ProcessRef> parse_up_process(std::string_view text) {
  auto doc = parse_object(text);
  if (!doc) return fail(doc.error());
  return process_at(*doc, "", "up_pid", "up_start_time");
}

Result<UpState> parse_state(std::string_view text) {
  auto parsed = parse_object(text);
  if (!parsed) return fail(parsed.error());
  const json& doc = *parsed;
  UpState out;
  for (auto [key, into] : {std::pair{"version", &out.version}, std::pair{"mode", &out.mode},
                           std::pair{"mesh_file", &out.mesh_file}}) {
    auto v = string_at(doc, "", key, false);
    if (!v) return fail(v.error());
    *into = std::move(*v);
  }
  auto up = process_at(doc, "", "up_pid", "up_start_time");
  if (!up) return fail(up.error());
  out.up = *up;

  auto controllers = doc.find("controllers");
  if (controllers == doc.end()) return bad("/controllers", "is required");
  if (!controllers->is_object()) return bad("/controllers", "must be an object");
  ControllerState* into[] = {&out.identity, &out.destination, &out.tap};  // kControllerNames
  for (size_t i = 0; i < std::size(kControllerNames); ++i) {
    auto controller = parse_controller(*controllers, kControllerNames[i]);
    if (!controller) return fail(controller.error());
    *into[i] = std::move(*controller);
  }

  if (auto ok = parse_network(doc, out); !ok) return fail(ok.error());

  auto pods = doc.find("pods");
  if (pods != doc.end() && !pods->is_null()) {
    if (!pods->is_array()) return bad("/pods", "must be an array");
    for (size_t i = 0; i < pods->size(); ++i) {
      auto pod = parse_pod((*pods)[i], "/pods/" + std::to_string(i));
      if (!pod) return fail(pod.error());
      out.pods.push_back(std::move(*pod));
    }
  }
  return out;
}

Result<void> write_state(const std::string& dir, const UpState& state) {
  std::string path = dir + "/state.json";
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << to_json(state).dump(2) << "\n";
    if (!out) return fail(ErrorCode::kIo, "cannot write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(ErrorCode::kIo, "cannot replace " + path + ": " + std::strerror(errno));
  }
  return {};
}

Result<UpState> read_state(const std::string& dir) {
  std::string path = dir + "/state.json";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    return fail(ErrorCode::kNotFound, path + " does not exist");
  }
  auto text = fs::read_file(path, 16 << 20);
  if (!text) return fail(text.error());
  auto state = parse_state(*text);
  if (!state) return fail(Error::wrap(state.error(), path));
  return state;
}

void remove_state(const std::string& dir) {
  ::unlink((dir + "/state.json").c_str());
}

Result<std::string> default_state_dir(GetEnvFn getenv_fn, bool is_root) {
  if (const char* dir = getenv_fn("LMESH_STATE_DIR"); set(dir)) return std::string(dir);
  if (is_root) return std::string("/var/lib/lmesh/up");
  if (const char* xdg = getenv_fn("XDG_STATE_HOME"); set(xdg) && *xdg == '/') {
    return std::string(xdg) + "/lmesh/up";
  }
  if (const char* home = getenv_fn("HOME"); set(home)) {
    return std::string(home) + "/.local/state/lmesh/up";
  }
  return fail(ErrorCode::kInvalidArgument,
              "cannot tell where lmesh up keeps its state (HOME is not set): use --state-dir");
}

Result<std::string> default_state_dir() {
  return default_state_dir(&process_environment, ::geteuid() == 0);
}

}  // namespace lmesh::up
