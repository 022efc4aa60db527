// `lmesh check`'s flags and the default state dir (src/cli/check/check_options.h).
#include "cli/check/check_options.h"

#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace lmesh::cli::check {
namespace {

std::map<std::string, std::string> env;

const char* fake_env(const char* name) {
  auto it = env.find(name);
  return it == env.end() ? nullptr : it->second.c_str();
}

Result<std::optional<CheckOptions>> parse(std::vector<std::string> args, bool root = false) {
  return parse_check_options(args, &fake_env, root);
}

TEST_CASE("options: defaults, every flag, both spellings", "[cli][check]") {
  env = {{"HOME", "/home/u"}};
  auto d = parse({});
  REQUIRE(d);
  REQUIRE(*d);
  CHECK_FALSE((*d)->pre);
  CHECK((*d)->output == Output::kTable);
  CHECK((*d)->wait.count() == 0);
  CHECK((*d)->state_dir == "/home/u/.local/state/lmesh/up");

  auto o = parse({"--pre", "--state-dir", "/s", "-o", "json", "--wait=30s"});
  REQUIRE(o);
  REQUIRE(*o);
  CHECK((*o)->pre);
  CHECK((*o)->state_dir == "/s");
  CHECK((*o)->output == Output::kJson);
  CHECK((*o)->wait == std::chrono::seconds(30));
  auto short_json = parse({"-ojson", "--output", "table", "--state-dir=/t"});
  REQUIRE(short_json);
  CHECK((**short_json).output == Output::kTable);  // the last one wins
  CHECK((**short_json).state_dir == "/t");
}

TEST_CASE("options: --help, and usage errors that name the flag", "[cli][check]") {
  env = {{"HOME", "/home/u"}};
  auto help = parse({"--wait", "1s", "-h"});
  REQUIRE(help);
  CHECK_FALSE(*help);
  auto bad_output = parse({"-o", "yaml"});
  REQUIRE_FALSE(bad_output);
  CHECK(bad_output.error().describe().find("--output 'yaml'") != std::string::npos);
  auto bad_wait = parse({"--wait", "soon"});
  REQUIRE_FALSE(bad_wait);
  CHECK(bad_wait.error().describe().find("--wait") != std::string::npos);
  CHECK_FALSE(parse({"--wait", "2h"}));
  CHECK_FALSE(parse({"extra"}));
  CHECK_FALSE(parse({"--nope", "x"}));
}

TEST_CASE("state dir: flag, then LMESH_STATE_DIR, then root's, XDG's, HOME's", "[cli][check]") {
  env = {{"LMESH_STATE_DIR", "/env"}, {"XDG_STATE_HOME", "/xdg"}, {"HOME", "/home/u"}};
  CHECK((**parse({"--state-dir", "/flag"})).state_dir == "/flag");
  CHECK((**parse({})).state_dir == "/env");
  env.erase("LMESH_STATE_DIR");
  CHECK((**parse({}, true)).state_dir == "/var/lib/lmesh/up");
  CHECK((**parse({})).state_dir == "/xdg/lmesh/up");
  env["XDG_STATE_HOME"] = "relative";  // ignored, as the XDG spec says
  CHECK((**parse({})).state_dir == "/home/u/.local/state/lmesh/up");
  env.clear();
  CHECK_FALSE(parse({}));
  CHECK(parse({"--state-dir", "/given"}));  // no HOME needed then
}

}  // namespace
}  // namespace lmesh::cli::check
