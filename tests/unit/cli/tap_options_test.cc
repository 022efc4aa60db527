// The flags of `lmesh tap`, `top` and `stat` (src/cli/tap_options.h) and the lmesh-tap request
// targets they become.
#include "cli/tap_options.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace lmesh::cli {
namespace {

const char* no_env(const char*) {
  return nullptr;
}
const char* tap_addr_env(const char* name) {
  return std::string_view(name) == "LMESH_TAP_ADDR" ? "10.0.0.9:9999" : nullptr;
}
// Every LMESH_ variable set: only LMESH_TAP_ADDR may be read.
const char* noisy_env(const char* name) {
  std::string_view n(name);
  if (n == "LMESH_TAP_ADDR") return "127.0.0.2:8088";
  return n.starts_with("LMESH_") ? "/from-the-environment" : nullptr;
}

Parsed<TapOptions> tap(std::vector<std::string> args, config::GetEnvFn env = &no_env) {
  return parse_tap_options(args, env, /*allow_output=*/true);
}

TEST_CASE("tap takes a target and defaults", "[cli][options]") {
  auto o = tap({"deploy/web"});
  REQUIRE(o.has_value());
  REQUIRE(o->has_value());
  CHECK((*o)->target == "deploy/web");
  CHECK((*o)->namespace_name == "default");
  CHECK((*o)->output == TapOutput::kDefault);
  CHECK((*o)->tap_addr.to_string() == "127.0.0.1:8088");
  CHECK(tap_request_target(**o) == "/v1/tap?target=deploy%2Fweb&namespace=default");
}

TEST_CASE("tap's flags, short and long, before or after the target", "[cli][options]") {
  auto o = tap({"-n", "prod", "deploy/web", "--to", "svc/api", "--to-namespace=shop", "--method",
                "POST", "--path", "/a b", "--authority=api:80", "--max-rps", "0.5", "-o", "wide",
                "--tap-addr", "localhost:1234"});
  REQUIRE(o.has_value());
  REQUIRE(o->has_value());
  const TapOptions& t = **o;
  CHECK(t.output == TapOutput::kWide);
  CHECK(t.tap_addr.host == "localhost");
  CHECK(t.tap_addr.port == 1234);
  CHECK(tap_request_target(t) ==
        "/v1/tap?target=deploy%2Fweb&namespace=prod&to=svc%2Fapi&to_namespace=shop&method=POST"
        "&path_prefix=%2Fa%20b&authority=api%3A80&max_rps=0.5");
}

TEST_CASE("LMESH_TAP_ADDR is the default address and the flag wins over it", "[cli][options]") {
  auto from_env = tap({"pod/web-1"}, &tap_addr_env);
  REQUIRE(from_env.has_value());
  CHECK((*from_env)->tap_addr.to_string() == "10.0.0.9:9999");
  auto from_flag = tap({"pod/web-1", "--tap-addr", "127.0.0.1:1"}, &tap_addr_env);
  REQUIRE(from_flag.has_value());
  CHECK((*from_flag)->tap_addr.to_string() == "127.0.0.1:1");
}

TEST_CASE("no other LMESH_ variable turns into a filter", "[cli][options]") {
  auto o = tap({"deploy/web"}, &noisy_env);
  REQUIRE(o.has_value());
  CHECK((*o)->path_prefix.empty());
  CHECK((*o)->method.empty());
  CHECK((*o)->tap_addr.to_string() == "127.0.0.2:8088");
}

TEST_CASE("help is asked with -h or --help anywhere", "[cli][options]") {
  for (auto args : {std::vector<std::string>{"--help"}, {"deploy/web", "-h"}}) {
    auto o = tap(args);
    REQUIRE(o.has_value());
    CHECK(!o->has_value());
  }
}

TEST_CASE("usage errors name what was wrong", "[cli][options]") {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "a TARGET is required (e.g. deploy/web)"},
           {{"a", "b"}, "unexpected argument 'b'"},
           {{"a", "-x"}, "unknown flag '-x' (see --help)"},
           {{"a", "-n"}, "--namespace"},
           {{"a", "--max-rps", "fast"}, "invalid --max-rps 'fast': 'fast' is not a number"},
           {{"a", "--max-rps", "200000"}, "must be between 0.1 and 100000"},
           {{"a", "-o", "yaml"}, "invalid --output 'yaml': use wide or json"},
           {{"a", "--tap-addr", "nope"}, "invalid --tap-addr 'nope'"},
           {{"a", "--namespace="}, "invalid --namespace ''"},
       }) {
    INFO(c.message);
    auto o = tap(c.args);
    REQUIRE(!o.has_value());
    CHECK(o.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(o.error().describe(), Catch::Contains(c.message));
  }
}

TEST_CASE("a bad LMESH_TAP_ADDR is named", "[cli][options]") {
  auto o = tap({"a"}, [](const char*) -> const char* { return "no-port"; });
  REQUIRE(!o.has_value());
  CHECK_THAT(o.error().describe(), Catch::StartsWith("invalid LMESH_TAP_ADDR 'no-port'"));
}

TEST_CASE("top has no --output", "[cli][options]") {
  std::vector<std::string> args = {"deploy/web", "-o", "json"};
  auto o = parse_tap_options(args, &no_env, /*allow_output=*/false);
  REQUIRE(!o.has_value());
  CHECK(o.error().describe() == "unknown flag '--output' (see --help)");
}

TEST_CASE("stat's window is a duration of at least a second", "[cli][options]") {
  std::vector<std::string> args = {"deploy", "-t", "30s", "-o", "json", "-n", "shop"};
  auto o = parse_stat_options(args, &no_env);
  REQUIRE(o.has_value());
  REQUIRE(o->has_value());
  CHECK((*o)->output == StatOutput::kJson);
  CHECK(stat_request_target(**o) == "/v1/stat?target=deploy&namespace=shop&window=30s");

  std::vector<std::string> defaults = {"deploy/web"};
  CHECK(stat_request_target(**parse_stat_options(defaults, &no_env)) ==
        "/v1/stat?target=deploy%2Fweb&namespace=default&window=1m");

  for (const char* bad : {"5x", "500ms", "0", "1.5m"}) {
    INFO(bad);
    std::vector<std::string> b = {"deploy", "-t", bad};
    CHECK(!parse_stat_options(b, &no_env).has_value());
  }
}

TEST_CASE("url_encode keeps only unreserved characters", "[cli][options]") {
  CHECK(url_encode("AZaz09-._~") == "AZaz09-._~");
  CHECK(url_encode("a/b c?d=e&f%") == "a%2Fb%20c%3Fd%3De%26f%25");
  CHECK(url_encode("\xc3\xa9") == "%C3%A9");
}

TEST_CASE("dashboard: the overview, or a deployment's live requests", "[cli][options]") {
  std::vector<std::string> none;
  auto overview = parse_dashboard_options(none, &tap_addr_env);
  REQUIRE(overview.has_value());
  REQUIRE(overview->has_value());
  CHECK(dashboard_url(**overview) == "http://10.0.0.9:9999/");

  std::vector<std::string> web = {"deploy/web", "-n", "prod ns", "--tap-addr", "127.0.0.1:18088"};
  auto tapped = parse_dashboard_options(web, &no_env);
  REQUIRE(tapped.has_value());
  REQUIRE(tapped->has_value());
  CHECK(dashboard_url(**tapped) == "http://127.0.0.1:18088/#ns=prod%20ns&tap=web");

  for (std::vector<std::string> bad :
       {std::vector<std::string>{"pod/web-1"}, std::vector<std::string>{"deploy/"},
        std::vector<std::string>{"web"}, std::vector<std::string>{"deploy/a", "deploy/b"},
        std::vector<std::string>{"--window", "1m"}}) {
    INFO(bad[0]);
    CHECK(!parse_dashboard_options(bad, &no_env).has_value());
  }
}

}  // namespace
}  // namespace lmesh::cli
