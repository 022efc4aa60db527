// state.json as lmesh up writes it (the up contract), read back by `lmesh down` and `lmesh check`
// (src/cli/up/up_state.h), and the processes it names (src/cli/up/process_ref.h).
#include "cli/up/up_state.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include <catch2/catch.hpp>

namespace lmesh::up {
namespace {

constexpr char kContractExample[] = R"({
  "version": "0.1.0", "mode": "netns",
  "up_pid": 1234, "up_start_time": 987654,
  "mesh_file": "/abs/path/mesh.yaml",
  "controllers": {
    "identity":    {"addr": "127.0.0.1:8080", "pid": 11, "start_time": 2},
    "destination": {"addr": "127.0.0.1:8086", "pid": 12, "start_time": 3},
    "tap":         {"addr": "127.0.0.1:8088", "pid": 13, "start_time": 4}
  },
  "network": {"bridge": "lmesh0", "forward_rule": true},
  "pods": [
    {"name": "web-0", "namespace": "default", "workload": "deploy/web",
     "identity": "web.default.serviceaccount.identity.lmesh.cluster.local",
     "ip": "198.18.0.2", "netns": "lmesh-1", "host_veth": "lmh1",
     "admin": "198.18.0.2:4191",
     "app":   {"pid": 21, "start_time": 5},
     "proxy": {"pid": 22, "start_time": 6}}
  ]
})";

TEST_CASE("state.json: the contract's example", "[cli][up]") {
  auto s = parse_state(kContractExample);
  REQUIRE(s);
  CHECK(s->version == "0.1.0");
  CHECK(s->mode == "netns");
  CHECK(s->up == ProcessRef{1234, 987654});
  CHECK(s->mesh_file == "/abs/path/mesh.yaml");
  CHECK(s->identity.addr == "127.0.0.1:8080");
  CHECK(s->tap.process == ProcessRef{13, 4});
  CHECK(s->bridge == "lmesh0");
  CHECK(s->forward_rule);
  auto named = controllers(*s);
  CHECK(named[0].name == "identity");
  CHECK(named[1].state == &s->destination);
  CHECK(named[2].name == "tap");
  REQUIRE(s->pods.size() == 1);
  const PodState& pod = s->pods[0];
  CHECK(pod.qualified_name() == "default/web-0");
  CHECK(pod.workload == "deploy/web");
  CHECK(pod.identity == "web.default.serviceaccount.identity.lmesh.cluster.local");
  CHECK(pod.ip == "198.18.0.2");
  CHECK(pod.netns == "lmesh-1");
  CHECK(pod.host_veth == "lmh1");
  CHECK(pod.admin == "198.18.0.2:4191");
  CHECK(pod.app == ProcessRef{21, 5});
  CHECK(pod.proxy == ProcessRef{22, 6});
}

TEST_CASE("state.json: what lmesh up writes reads back the same", "[cli][up]") {
  auto s = parse_state(kContractExample);
  REQUIRE(s);
  auto again = parse_state(to_json(*s).dump());
  REQUIRE(again);
  CHECK(to_json(*again) == to_json(*s));
  // Loopback mode writes no "network".
  s->mode = "loopback";
  CHECK_FALSE(to_json(*s).contains("network"));
}

TEST_CASE("state.json: absent processes are not running; unknown fields are ignored", "[cli][up]") {
  auto s = parse_state(R"({"controllers": {"identity": {"addr": "a:1"},
    "destination": {"addr": "a:2", "pid": 0}, "tap": {"addr": "a:3", "future": 1}},
    "pods": [{"name": "p", "namespace": "n", "admin": "a:4"}], "later": true})");
  REQUIRE(s);
  CHECK(s->up.pid == 0);
  CHECK(s->identity.process.pid == 0);
  CHECK(s->pods[0].proxy.pid == 0);
  CHECK(s->pods[0].identity.empty());
  CHECK(s->bridge.empty());
  CHECK_FALSE(s->forward_rule);
}

TEST_CASE("state.json: lmesh up's own process alone, for --pre", "[cli][up]") {
  auto up = parse_up_process(R"({"up_pid": 1234, "up_start_time": 5, "controllers": {}})");
  REQUIRE(up);
  CHECK(*up == ProcessRef{1234, 5});
  CHECK_FALSE(parse_up_process("[]"));
}

TEST_CASE("state.json: errors name the field", "[cli][up]") {
  auto message = [](const char* text) {
    auto s = parse_state(text);
    REQUIRE_FALSE(s);
    CHECK(s.error().code() == ErrorCode::kInvalidArgument);
    return s.error().describe();
  };
  constexpr char kControllers[] =
      R"("controllers": {"identity": {"addr": "a:1"}, "destination": {"addr": "a:2"},
         "tap": {"addr": "a:3"}})";
  auto with = [&](const std::string& more) { return "{" + std::string(kControllers) + more + "}"; };
  CHECK(message("{") == "state.json: not valid JSON");
  CHECK(message("[]") == "state.json: : must be an object");
  CHECK(message("{}") == "state.json: /controllers: is required");
  CHECK(message(R"({"controllers": {"identity": {"addr": "a:1"}}})") ==
        "state.json: /controllers/destination: is required");
  CHECK(message(R"({"up_pid": -3, "controllers": {}})") ==
        "state.json: /up_pid: must be a whole number >= 0");
  CHECK(message(with(R"(, "up_pid": 4294967296)").c_str()) == "state.json: /up_pid: is not a pid");
  CHECK(message(with(R"(, "mode": 1)").c_str()) == "state.json: /mode: must be a string");
  CHECK(message(with(R"(, "network": {"forward_rule": "yes"})").c_str()) ==
        "state.json: /network/forward_rule: must be true or false");
  CHECK(message(with(R"(, "pods": {})").c_str()) == "state.json: /pods: must be an array");
  CHECK(message(with(R"(, "pods": [{"name": "p", "namespace": "n", "admin": 7}])").c_str()) ==
        "state.json: /pods/0/admin: must be a string");
  CHECK(message(with(R"(, "pods": [{"name": "p", "namespace": "n", "admin": "a:4",
        "proxy": {"pid": "22"}}])")
                    .c_str()) == "state.json: /pods/0/proxy/pid: must be a whole number >= 0");
}

TEST_CASE("state.json: written by rename, read back, kNotFound once removed", "[cli][up]") {
  std::string dir = std::filesystem::temp_directory_path() /
                    ("lmesh-up-state-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto s = parse_state(kContractExample);
  REQUIRE(s);
  REQUIRE(write_state(dir, *s));
  CHECK_FALSE(std::filesystem::exists(dir + "/state.json.tmp"));
  auto back = read_state(dir);
  REQUIRE(back);
  CHECK(to_json(*back) == to_json(*s));

  {
    std::FILE* f = std::fopen((dir + "/state.json").c_str(), "w");
    std::fputs(R"({"controllers": 3})", f);
    std::fclose(f);
  }
  auto broken = read_state(dir);
  REQUIRE_FALSE(broken);
  CHECK(broken.error().describe().find(dir + "/state.json") != std::string::npos);
  CHECK(broken.error().describe().find("/controllers: must be an object") != std::string::npos);

  remove_state(dir);
  auto none = read_state(dir);
  REQUIRE_FALSE(none);
  CHECK(none.error().code() == ErrorCode::kNotFound);
  CHECK(none.error().describe() == dir + "/state.json does not exist");
  std::filesystem::remove_all(dir);
}

std::map<std::string, std::string> env;

const char* fake_env(const char* name) {
  auto it = env.find(name);
  return it == env.end() ? nullptr : it->second.c_str();
}

TEST_CASE("state dir: LMESH_STATE_DIR, then root's, XDG's, HOME's", "[cli][up]") {
  env = {{"LMESH_STATE_DIR", "/env"}, {"XDG_STATE_HOME", "/xdg"}, {"HOME", "/home/u"}};
  CHECK(*default_state_dir(&fake_env, false) == "/env");
  CHECK(*default_state_dir(&fake_env, true) == "/env");
  env.erase("LMESH_STATE_DIR");
  CHECK(*default_state_dir(&fake_env, true) == "/var/lib/lmesh/up");
  CHECK(*default_state_dir(&fake_env, false) == "/xdg/lmesh/up");
  env["XDG_STATE_HOME"] = "relative";  // ignored, as the XDG base directory spec says
  CHECK(*default_state_dir(&fake_env, false) == "/home/u/.local/state/lmesh/up");
  env["LMESH_STATE_DIR"] = "";  // empty is unset
  CHECK(*default_state_dir(&fake_env, false) == "/home/u/.local/state/lmesh/up");
  env.clear();
  auto none = default_state_dir(&fake_env, false);
  REQUIRE_FALSE(none);
  CHECK(none.error().describe().find("--state-dir") != std::string::npos);
}

// Fields 1..22 of a stat line, with a command name that holds spaces and parentheses.
std::string stat_line(char state, uint64_t start_time) {
  return "4242 (a (b) c) " + std::string(1, state) +
         " 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 " + std::to_string(start_time) +
         " 1000 200 18446744073709551615\n";
}

TEST_CASE("stat: state and start time counted from the last parenthesis", "[cli][up]") {
  auto f = parse_proc_stat(stat_line('S', 987654));
  REQUIRE(f);
  CHECK(f->state == 'S');
  CHECK(f->start_time == 987654);
  CHECK_FALSE(parse_proc_stat("4242 (cut short) S 1 2"));
  CHECK_FALSE(parse_proc_stat("garbage"));
}

TEST_CASE("liveness: the very process, not a later one with its pid", "[cli][up]") {
  CHECK(judge_liveness({0, 0}, std::nullopt) == Liveness::kNotStarted);
  CHECK(judge_liveness({4242, 7}, std::nullopt) == Liveness::kGone);
  CHECK(judge_liveness({4242, 7}, stat_line('S', 7)) == Liveness::kAlive);
  CHECK(judge_liveness({4242, 7}, stat_line('R', 8)) == Liveness::kReplaced);
  CHECK(judge_liveness({4242, 7}, stat_line('Z', 7)) == Liveness::kGone);  // a zombie is dead
  CHECK(judge_liveness({4242, 7}, "garbage") == Liveness::kGone);
  // Without its start time a pid names no process for certain: lmesh down must not signal it.
  CHECK(judge_liveness({4242, 0}, stat_line('S', 99)) == Liveness::kReplaced);
}

TEST_CASE("liveness: this process, from /proc", "[cli][up]") {
  ProcessRef self = process_ref(::getpid());
  CHECK(self.pid == ::getpid());
  CHECK(self.start_time == process_start_time(::getpid()));
  CHECK(alive(self));
  CHECK(liveness({self.pid, self.start_time + 1}) == Liveness::kReplaced);
  CHECK_FALSE(alive({}));
  CHECK(process_ref(0) == ProcessRef{});
}

}  // namespace
}  // namespace lmesh::up
