#include "cli/up/up_state.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "common/fs/read_file.h"

namespace lmesh::up {
namespace {

using json = nlohmann::json;

json ref_json(const ProcessRef& ref) {
  return {{"pid", ref.pid}, {"start_time", ref.start_time}};
}

ProcessRef ref_from(const json& value) {
  ProcessRef ref;
  if (!value.is_object()) return ref;
  ref.pid = value.value("pid", 0);
  ref.start_time = value.value("start_time", uint64_t{0});
  return ref;
}

json controller_json(const ControllerState& c) {
  json out = ref_json(c.process);
  out["addr"] = c.addr;
  return out;
}

ControllerState controller_from(const json& value) {
  ControllerState c;
  if (!value.is_object()) return c;
  c.addr = value.value("addr", "");
  c.process = ref_from(value);
  return c;
}

}  // namespace

std::optional<uint64_t> process_start_time(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto stat = fs::read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count fields from
  // the last ')'. The state is field 3, the start time field 22.
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::string_view rest = std::string_view(*stat).substr(close + 2);
  if (!rest.empty() && rest[0] == 'Z') return std::nullopt;  // exited, not yet reaped
  int field = 3;
  size_t pos = 0;
  while (field < 22) {
    pos = rest.find(' ', pos);
    if (pos == std::string_view::npos) return std::nullopt;
    ++pos;
    ++field;
  }
  return std::strtoull(std::string(rest.substr(pos)).c_str(), nullptr, 10);
}

ProcessRef process_ref(pid_t pid) {
  auto start = process_start_time(pid);
  if (!start) return {};
  return {pid, *start};
}

bool alive(const ProcessRef& ref) {
  if (ref.pid <= 0) return false;
  auto start = process_start_time(ref.pid);
  return start && *start == ref.start_time;
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

Result<UpState> parse_state(const json& value) {
  if (!value.is_object() || !value.contains("mode")) {
    return fail(ErrorCode::kInvalidArgument, "state.json is not lmesh up's state");
  }
  try {
    UpState s;
    s.version = value.value("version", "");
    s.mode = value.value("mode", "");
    s.up = {value.value("up_pid", 0), value.value("up_start_time", uint64_t{0})};
    s.mesh_file = value.value("mesh_file", "");
    const json& controllers = value.value("controllers", json::object());
    s.identity = controller_from(controllers.value("identity", json()));
    s.destination = controller_from(controllers.value("destination", json()));
    s.tap = controller_from(controllers.value("tap", json()));
    const json& network = value.value("network", json::object());
    s.bridge = network.value("bridge", "");
    s.forward_rule = network.value("forward_rule", false);
    for (const json& p : value.value("pods", json::array())) {
      PodState pod;
      pod.name = p.value("name", "");
      pod.namespace_name = p.value("namespace", "");
      pod.workload = p.value("workload", "");
      pod.identity = p.value("identity", "");
      pod.ip = p.value("ip", "");
      pod.netns = p.value("netns", "");
      pod.host_veth = p.value("host_veth", "");
      pod.admin = p.value("admin", "");
      pod.app = ref_from(p.value("app", json()));
      pod.proxy = ref_from(p.value("proxy", json()));
      s.pods.push_back(std::move(pod));
    }
    return s;
  } catch (const json::exception& e) {
    return fail(ErrorCode::kInvalidArgument, std::string("state.json: ") + e.what());
  }
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
  if (::access(path.c_str(), F_OK) != 0) {
    return fail(ErrorCode::kNotFound, "no mesh is recorded in " + dir);
  }
  auto text = fs::read_file(path, 16 << 20);
  if (!text) return fail(text.error());
  json value = json::parse(*text, nullptr, false);
  if (value.is_discarded()) return fail(ErrorCode::kInvalidArgument, path + " is not JSON");
  return parse_state(value);
}

void remove_state(const std::string& dir) {
  ::unlink((dir + "/state.json").c_str());
}

std::string default_state_dir() {
  if (const char* env = std::getenv("LMESH_STATE_DIR"); env != nullptr && *env != '\0') return env;
  if (::geteuid() == 0) return "/var/lib/lmesh/up";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/lmesh/up";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/tmp") + "/.local/state/lmesh/up";
}

}  // namespace lmesh::up
