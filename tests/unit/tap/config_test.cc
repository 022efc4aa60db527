// lmesh-tap's flags: identity comes as a set, and every refusal names the flag.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "tap/config.h"

namespace lmesh::tap {
namespace {

const char* no_env(const char*) {
  return nullptr;
}

std::map<std::string, std::string>& fake_env() {
  static std::map<std::string, std::string> env;
  return env;
}
const char* from_fake_env(const char* name) {
  auto it = fake_env().find(name);
  return it == fake_env().end() ? nullptr : it->second.c_str();
}

const std::vector<std::string> kIdentity = {"--identity-addr",       "127.0.0.1:8083",
                                            "--identity-token-file", "/run/token",
                                            "--trust-anchors",       "/run/anchors.pem"};

std::string refusal(const std::vector<std::string>& args) {
  auto parsed = parse_args(args, no_env);
  REQUIRE_FALSE(parsed);
  return parsed.error().describe();
}

TEST_CASE("without identity flags identity is off") {
  auto parsed = parse_args({}, no_env);
  REQUIRE(parsed);
  CHECK_FALSE(parsed->config.identity_enabled());
  CHECK(parsed->config.identity_name ==
        "tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local");
  CHECK(parsed->config.identity_server_name ==
        "identity.lmesh-system.serviceaccount.identity.lmesh.cluster.local");
}

TEST_CASE("the full identity set turns identity on with the defaults for the names") {
  auto parsed = parse_args(kIdentity, no_env);
  REQUIRE(parsed);
  const TapConfig& c = parsed->config;
  REQUIRE(c.identity_enabled());
  CHECK(c.identity_addr->to_string() == "127.0.0.1:8083");
  CHECK(c.identity_token_file == "/run/token");
  CHECK(c.trust_anchors_file == "/run/anchors.pem");
  CHECK(c.identity_name == "tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local");
}

TEST_CASE("identity names can be changed") {
  auto args = kIdentity;
  args.insert(args.end(), {"--identity-name", "tap.ops.serviceaccount.identity.lmesh.cluster.local",
                           "--identity-server-name", "id.example"});
  auto parsed = parse_args(args, no_env);
  REQUIRE(parsed);
  CHECK(parsed->config.identity_name == "tap.ops.serviceaccount.identity.lmesh.cluster.local");
  CHECK(parsed->config.identity_server_name == "id.example");
}

TEST_CASE("identity flags come from LMESH_TAP_* too, and flags win") {
  fake_env() = {{"LMESH_TAP_IDENTITY_ADDR", "127.0.0.1:9000"},
                {"LMESH_TAP_IDENTITY_TOKEN_FILE", "/env/token"},
                {"LMESH_TAP_TRUST_ANCHORS", "/env/anchors.pem"}};
  auto parsed = parse_args({"--trust-anchors", "/flag/anchors.pem"}, from_fake_env);
  REQUIRE(parsed);
  CHECK(parsed->config.identity_addr->to_string() == "127.0.0.1:9000");
  CHECK(parsed->config.identity_token_file == "/env/token");
  CHECK(parsed->config.trust_anchors_file == "/flag/anchors.pem");

  fake_env() = {{"LMESH_TAP_IDENTITY_ADDR", "127.0.0.1:9000"}};
  auto partial = parse_args({}, from_fake_env);
  REQUIRE_FALSE(partial);
  CHECK_THAT(partial.error().describe(),
             Catch::Contains("--identity-addr needs --identity-token-file"));
  fake_env().clear();
}

TEST_CASE("identity is all or nothing, naming the missing flag") {
  CHECK_THAT(refusal({"--identity-addr", "127.0.0.1:8083", "--trust-anchors", "/a.pem"}),
             Catch::Contains("--identity-addr needs --identity-token-file too"));
  CHECK_THAT(refusal({"--identity-addr", "127.0.0.1:8083", "--identity-token-file", "/t"}),
             Catch::Contains("--identity-addr needs --trust-anchors too"));
  CHECK_THAT(refusal({"--identity-token-file", "/t"}),
             Catch::Contains("--identity-token-file needs --identity-addr too"));
  CHECK_THAT(refusal({"--trust-anchors", "/a.pem"}),
             Catch::Contains("--trust-anchors needs --identity-addr too"));
}

TEST_CASE("bad identity values are refused naming the flag and the value") {
  auto with = [](std::vector<std::string> extra) {
    auto args = kIdentity;
    args.insert(args.end(), extra.begin(), extra.end());
    return refusal(args);
  };
  CHECK_THAT(refusal({"--identity-addr", "nowhere"}), Catch::Contains("--identity-addr 'nowhere'"));
  CHECK_THAT(refusal({"--identity-addr", "127.0.0.1:0"}), Catch::Contains("non-zero port"));
  CHECK_THAT(with({"--identity-name", "tap"}), Catch::Contains("--identity-name 'tap'"));
  CHECK_THAT(with({"--identity-name", "tap"}), Catch::Contains("serviceaccount.identity"));
  CHECK_THAT(with({"--identity-token-file", ""}), Catch::Contains("--identity-token-file"));
  CHECK_THAT(with({"--trust-anchors", ""}), Catch::Contains("--trust-anchors"));
  CHECK_THAT(with({"--identity-server-name", ""}), Catch::Contains("--identity-server-name"));
}

TEST_CASE("--help is answered even with an incomplete identity set") {
  auto parsed = parse_args({"--identity-addr", "127.0.0.1:8083", "--help"}, no_env);
  REQUIRE(parsed);
  CHECK(parsed->help);
  CHECK_THAT(usage(), Catch::Contains("--identity-token-file"));
}

}  // namespace
}  // namespace lmesh::tap
