// lmesh-proxy's configuration (src/proxy/config.h): defaults, every flag in both spellings,
// LMESH_PROXY_* environment variables through an injected getenv, precedence, and errors that
// name the setting and the value.
#include "proxy/config.h"

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

namespace lmesh::proxy {
namespace {

using std::chrono::milliseconds;
using Args = std::vector<std::string>;

// The environment the parser sees: GetEnvFn is a plain function pointer, so it reads a global.
std::map<std::string, std::string> g_env;
const char* fake_getenv(const char* name) {
  auto it = g_env.find(name);
  return it == g_env.end() ? nullptr : it->second.c_str();
}

// Sets the fake environment for one test case and clears it afterwards.
using Vars = std::map<std::string, std::string>;
struct Env {
  explicit Env(Vars vars) { g_env = std::move(vars); }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  ~Env() { g_env.clear(); }
};

ProxyConfig parse_ok(const Args& args) {
  auto r = parse_args(args, &fake_getenv);
  INFO((r ? std::string("ok") : r.error().describe()));
  REQUIRE(r.has_value());
  CHECK(!r->help);
  return r->config;
}

Error parse_error(const Args& args) {
  auto r = parse_args(args, &fake_getenv);
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  return r.error();
}

// One flag, a value for it, and how to tell it was applied.
struct FlagCase {
  std::string flag;
  std::string value;
  std::function<bool(const ProxyConfig&)> applied;
};

std::vector<FlagCase> every_flag() {
  return {
      {"outbound-listen", "127.0.0.1:5140",
       [](const ProxyConfig& c) { return c.outbound_listen.to_string() == "127.0.0.1:5140"; }},
      {"inbound-listen", "[::1]:5143",
       [](const ProxyConfig& c) { return c.inbound_listen.to_string() == "[::1]:5143"; }},
      {"admin-listen", "127.0.0.1:0",
       [](const ProxyConfig& c) { return c.admin_listen.to_string() == "127.0.0.1:0"; }},
      {"workers", "7", [](const ProxyConfig& c) { return c.workers == 7; }},
      {"outbound-target", "10.0.0.1:8080",
       [](const ProxyConfig& c) {
         return c.outbound_target && c.outbound_target->to_string() == "10.0.0.1:8080";
       }},
      {"inbound-forward", "127.0.0.1:9000",
       [](const ProxyConfig& c) {
         return c.inbound_forward && c.inbound_forward->to_string() == "127.0.0.1:9000";
       }},
      {"outbound-service-listen", "127.18.0.2:15000=198.19.0.1:7070,127.0.0.1:0=10.0.0.1:5432",
       [](const ProxyConfig& c) {
         const auto& l = c.outbound_service_listeners;
         return l.size() == 2 && l[0].listen.to_string() == "127.18.0.2:15000" &&
                l[0].target.to_string() == "198.19.0.1:7070" &&
                l[1].target.to_string() == "10.0.0.1:5432";
       }},
      {"inbound-forward-listen", "127.18.0.2:14301=127.18.0.2:9090",
       [](const ProxyConfig& c) {
         const auto& l = c.inbound_forward_listeners;
         return l.size() == 1 && l[0].listen.to_string() == "127.18.0.2:14301" &&
                l[0].target.to_string() == "127.18.0.2:9090";
       }},
      {"outbound-bind", "127.18.0.2",
       [](const ProxyConfig& c) {
         return c.outbound_bind && c.outbound_bind->to_string() == "127.18.0.2:0" &&
                c.upstream_source(Direction::kOutbound) == c.outbound_bind &&
                !c.upstream_source(Direction::kInbound);
       }},
      {"meshed-endpoints", "10.0.0.2:4143,127.0.0.1:5143=api.default.serviceaccount.x",
       [](const ProxyConfig& c) {
         auto with_id = *net::SocketAddress::parse("127.0.0.1:5143");
         auto without = *net::SocketAddress::parse("10.0.0.2:4143");
         return c.meshed_endpoints.size() == 2 && c.is_meshed(with_id) && c.is_meshed(without) &&
                !c.is_meshed(*net::SocketAddress::parse("127.0.0.1:5144")) &&
                c.expected_identity(with_id) != nullptr &&
                *c.expected_identity(with_id) == "api.default.serviceaccount.x" &&
                c.expected_identity(without) == nullptr;
       }},
      {"destination-addr", "127.0.0.1:8086",
       [](const ProxyConfig& c) {
         return c.destination_addr && c.destination_addr->to_string() == "127.0.0.1:8086";
       }},
      {"discovery-timeout", "750ms",
       [](const ProxyConfig& c) { return c.discovery_timeout == std::chrono::milliseconds(750); }},
      {"failfast-timeout", "1500ms",
       [](const ProxyConfig& c) { return c.failfast_timeout == std::chrono::milliseconds(1500); }},
      {"identity-addr", "127.0.0.1:8080",
       [](const ProxyConfig& c) {
         return c.identity_addr && c.identity_addr->to_string() == "127.0.0.1:8080";
       }},
      {"identity-name", "web.default.serviceaccount.identity.lmesh.cluster.local",
       [](const ProxyConfig& c) {
         return c.identity_name == "web.default.serviceaccount.identity.lmesh.cluster.local";
       }},
      {"identity-token-file", "/run/token",
       [](const ProxyConfig& c) { return c.identity_token_file == "/run/token"; }},
      {"identity-server-name", "id.x.serviceaccount.identity.lmesh.cluster.local",
       [](const ProxyConfig& c) {
         return c.identity_server_name == "id.x.serviceaccount.identity.lmesh.cluster.local";
       }},
      {"trust-anchors", "/run/ca.crt",
       [](const ProxyConfig& c) { return c.trust_anchors_file == "/run/ca.crt"; }},
      {"inbound-require-identity", "true",
       [](const ProxyConfig& c) { return c.inbound_require_identity; }},
      {"tap-identity", "viewer.ops.serviceaccount.identity.lmesh.cluster.local",
       [](const ProxyConfig& c) {
         return c.tap_identity == "viewer.ops.serviceaccount.identity.lmesh.cluster.local";
       }},
      {"detect-timeout", "250ms",
       [](const ProxyConfig& c) { return c.detect_timeout == milliseconds(250); }},
      {"opaque-ports", "3306,25",
       [](const ProxyConfig& c) {
         return c.opaque_ports == std::vector<uint16_t>{25, 3306};
       }},
      {"max-header-bytes", "8192", [](const ProxyConfig& c) { return c.max_header_bytes == 8192; }},
      {"header-timeout", "2s",
       [](const ProxyConfig& c) { return c.header_timeout == milliseconds(2000); }},
      {"upstream-timeout", "1m",
       [](const ProxyConfig& c) { return c.upstream_timeout == milliseconds(60'000); }},
      {"connect-timeout", "750ms",
       [](const ProxyConfig& c) { return c.connect_timeout == milliseconds(750); }},
      {"idle-timeout", "0", [](const ProxyConfig& c) { return c.idle_timeout == milliseconds(0); }},
      {"pool-idle-timeout", "2h",
       [](const ProxyConfig& c) { return c.pool_idle_timeout == milliseconds(7'200'000); }},
      {"pool-max-idle", "0", [](const ProxyConfig& c) { return c.pool_max_idle == 0; }},
      {"h2-keepalive-interval", "0",
       [](const ProxyConfig& c) { return c.h2_keepalive_interval == milliseconds(0); }},
      {"h2-keepalive-timeout", "3s",
       [](const ProxyConfig& c) { return c.h2_keepalive_timeout == milliseconds(3000); }},
      {"connection-buffer-bytes", "1048576",
       [](const ProxyConfig& c) { return c.connection_buffer_bytes == 1048576; }},
      {"shutdown-grace", "5s",
       [](const ProxyConfig& c) { return c.shutdown_grace == milliseconds(5000); }},
      {"log-level", "debug", [](const ProxyConfig& c) { return c.log_level == "debug"; }},
      {"log-format", "json",
       [](const ProxyConfig& c) { return c.log_format == log::Format::kJson; }},
  };
}

std::string env_name(const std::string& flag) {
  std::string name = "LMESH_PROXY_";
  for (char ch : flag) {
    name += ch == '-' ? '_' : (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
  }
  return name;
}

TEST_CASE("defaults match the README", "[proxy][config]") {
  Env env(Vars{});
  ProxyConfig c = parse_ok({});
  CHECK(c.outbound_listen.to_string() == "127.0.0.1:4140");
  CHECK(c.inbound_listen.to_string() == "0.0.0.0:4143");
  CHECK(c.admin_listen.to_string() == "0.0.0.0:4191");
  CHECK(c.workers == std::max(1u, std::thread::hardware_concurrency()));
  CHECK(!c.outbound_target);
  CHECK(!c.inbound_forward);
  CHECK(c.detect_timeout == milliseconds(10'000));
  CHECK(c.opaque_ports == std::vector<uint16_t>{25, 587, 3306, 4444, 5432, 6379, 9300, 11211});
  CHECK(c.max_header_bytes == 65536);
  CHECK(c.header_timeout == milliseconds(10'000));
  CHECK(c.upstream_timeout == milliseconds(15'000));
  CHECK(c.connect_timeout == milliseconds(3'000));
  CHECK(c.idle_timeout == milliseconds(3'600'000));
  CHECK(c.pool_idle_timeout == milliseconds(10'000));
  CHECK(c.pool_max_idle == 1024);
  CHECK(c.connection_buffer_bytes == 262144);
  CHECK(c.h2_keepalive_interval == milliseconds(10'000));
  CHECK(c.h2_keepalive_timeout == milliseconds(20'000));
  CHECK(c.shutdown_grace == milliseconds(30'000));
  CHECK(c.log_level == "info");
  CHECK(c.log_format == log::Format::kText);
  CHECK(c.tap_identity == "tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local");
}

TEST_CASE("every flag is parsed, as --flag value and as --flag=value", "[proxy][config]") {
  Env env(Vars{});
  for (const FlagCase& f : every_flag()) {
    INFO("--" << f.flag << " " << f.value);
    CHECK(f.applied(parse_ok({"--" + f.flag, f.value})));
    CHECK(f.applied(parse_ok({"--" + f.flag + "=" + f.value})));
  }
}

TEST_CASE("every flag is read from LMESH_PROXY_<FLAG>", "[proxy][config]") {
  for (const FlagCase& f : every_flag()) {
    INFO(env_name(f.flag) << "=" << f.value);
    Env env(Vars{{env_name(f.flag), f.value}});
    CHECK(f.applied(parse_ok({})));
  }
}

TEST_CASE("a flag on the command line wins over the environment", "[proxy][config]") {
  Env env(Vars{{"LMESH_PROXY_WORKERS", "3"},
               {"LMESH_PROXY_OUTBOUND_LISTEN", "127.0.0.1:1111"},
               {"LMESH_PROXY_LOG_LEVEL", "warn"}});
  ProxyConfig c = parse_ok({"--workers", "5", "--outbound-listen=127.0.0.1:2222"});
  CHECK(c.workers == 5);
  CHECK(c.outbound_listen.to_string() == "127.0.0.1:2222");
  CHECK(c.log_level == "warn");  // not on the command line: the environment's value
}

TEST_CASE("a later flag overrides an earlier one", "[proxy][config]") {
  Env env(Vars{});
  CHECK(parse_ok({"--workers", "2", "--workers=3"}).workers == 3);
}

TEST_CASE("a value may look like a flag or be empty", "[proxy][config]") {
  Env env(Vars{});
  // An empty list switches off opaque ports.
  CHECK(parse_ok({"--opaque-ports="}).opaque_ports.empty());
  CHECK(parse_ok({"--opaque-ports", ""}).opaque_ports.empty());
  CHECK(parse_ok({"--opaque-ports", "80,,90,"}).opaque_ports == std::vector<uint16_t>{80, 90});
}

TEST_CASE("errors name the flag and the bad value", "[proxy][config]") {
  Env env(Vars{});
  struct Bad {
    Args args;
    std::string names;  // the message must contain this
  };
  const Bad cases[] = {
      {{"--workers", "0"}, "invalid --workers '0'"},
      {{"--workers", "257"}, "invalid --workers '257'"},
      {{"--workers=many"}, "invalid --workers 'many'"},
      {{"--outbound-listen", "nonsense"}, "invalid --outbound-listen 'nonsense'"},
      {{"--inbound-listen", "1.2.3.4:99999"}, "invalid --inbound-listen '1.2.3.4:99999'"},
      {{"--admin-listen", ":4191"}, "invalid --admin-listen ':4191'"},
      {{"--outbound-bind", "127.0.0.1:80"}, "invalid --outbound-bind '127.0.0.1:80'"},
      {{"--outbound-bind", "0.0.0.0"}, "invalid --outbound-bind '0.0.0.0'"},
      {{"--detect-timeout", "5parsecs"}, "invalid --detect-timeout '5parsecs'"},
      {{"--header-timeout", "5"}, "invalid --header-timeout '5'"},
      {{"--upstream-timeout", "-1s"}, "invalid --upstream-timeout '-1s'"},
      {{"--opaque-ports", "80,http"}, "invalid --opaque-ports '80,http'"},
      {{"--opaque-ports", "0"}, "invalid --opaque-ports '0'"},
      {{"--opaque-ports", "65536"}, "invalid --opaque-ports '65536'"},
      {{"--max-header-bytes", "255"}, "invalid --max-header-bytes '255'"},
      {{"--max-header-bytes", "16777217"}, "invalid --max-header-bytes '16777217'"},
      {{"--connection-buffer-bytes", "16383"}, "invalid --connection-buffer-bytes '16383'"},
      {{"--pool-max-idle", "100001"}, "invalid --pool-max-idle '100001'"},
      {{"--outbound-target", "10.0.0.1:0"}, "invalid --outbound-target '10.0.0.1:0'"},
      {{"--inbound-forward", "10.0.0.1"}, "invalid --inbound-forward '10.0.0.1'"},
      {{"--meshed-endpoints", "10.0.0.2:4143,10.0.0.3"},
       "invalid --meshed-endpoints '10.0.0.2:4143,10.0.0.3'"},
      {{"--log-level", "verbose"}, "invalid --log-level 'verbose'"},
      {{"--log-format", "yaml"}, "invalid --log-format 'yaml'"},
      {{"--tap-identity", "tap.lmesh-system"}, "invalid --tap-identity 'tap.lmesh-system'"},
      {{"--tap-identity", "Tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local"},
       "invalid --tap-identity 'Tap.lmesh-system"},
  };
  for (const Bad& b : cases) {
    INFO(b.args[0]);
    Error e = parse_error(b.args);
    CHECK_THAT(e.message(), Catch::StartsWith(b.names));
    // The cause says what is wrong with the value.
    REQUIRE(e.cause() != nullptr);
    CHECK(!e.cause()->message().empty());
  }
  CHECK_THAT(parse_error({"--workers", "0"}).describe(), Catch::Contains("out of range [1, 256]"));
  CHECK_THAT(parse_error({"--detect-timeout", "5parsecs"}).describe(),
             Catch::Contains("no valid unit"));
  CHECK_THAT(parse_error({"--outbound-target", "10.0.0.1:0"}).describe(),
             Catch::Contains("non-zero port"));
  CHECK_THAT(parse_error({"--tap-identity", "tap"}).describe(),
             Catch::Contains("expected <sa>.<ns>.serviceaccount.identity.lmesh.cluster.local"));
}

TEST_CASE("boundary values are accepted", "[proxy][config]") {
  Env env(Vars{});
  CHECK(parse_ok({"--workers", "1"}).workers == 1);
  CHECK(parse_ok({"--workers", "256"}).workers == 256);
  CHECK(parse_ok({"--max-header-bytes", "256"}).max_header_bytes == 256);
  CHECK(parse_ok({"--max-header-bytes", "16777216"}).max_header_bytes == 16777216);
  CHECK(parse_ok({"--connection-buffer-bytes", "16384"}).connection_buffer_bytes == 16384);
  CHECK(parse_ok({"--connection-buffer-bytes", "67108864"}).connection_buffer_bytes == 67108864);
  CHECK(parse_ok({"--opaque-ports", "1,65535"}).opaque_ports == std::vector<uint16_t>{1, 65535});
  for (const char* level : {"trace", "debug", "info", "warn", "error", "off"}) {
    CHECK(parse_ok({"--log-level", level}).log_level == level);
  }
  CHECK(parse_ok({"--log-format", "text"}).log_format == log::Format::kText);
}

TEST_CASE("addresses may be names", "[proxy][config]") {
  Env env(Vars{});
  // "localhost" comes from /etc/hosts: no DNS needed.
  ProxyConfig c = parse_ok({"--outbound-target", "localhost:8080"});
  REQUIRE(c.outbound_target);
  CHECK(c.outbound_target->is_loopback());
  CHECK(c.outbound_target->port() == 8080);
}

TEST_CASE("errors in the environment name the variable", "[proxy][config]") {
  {
    Env env(Vars{{"LMESH_PROXY_WORKERS", "abc"}});
    Error e = parse_error({});
    CHECK_THAT(e.message(), Catch::StartsWith("invalid LMESH_PROXY_WORKERS 'abc'"));
  }
  {
    Env env(Vars{{"LMESH_PROXY_DETECT_TIMEOUT", "5parsecs"}});
    CHECK_THAT(parse_error({}).message(),
               Catch::StartsWith("invalid LMESH_PROXY_DETECT_TIMEOUT '5parsecs'"));
  }
  {
    // Variables that are no setting are ignored.
    Env env(Vars{{"LMESH_PROXY_BOGUS", "1"}, {"LMESH_PROXY_HELP", "1"}});
    parse_ok({});
  }
}

TEST_CASE("unknown flags, missing values and stray arguments are errors", "[proxy][config]") {
  Env env(Vars{});
  CHECK(parse_error({"--bogus"}).message() == "unknown flag '--bogus' (see --help)");
  CHECK(parse_error({"--bogus=1"}).message() == "unknown flag '--bogus' (see --help)");
  CHECK(parse_error({"--WORKERS", "2"}).message() == "unknown flag '--WORKERS' (see --help)");
  CHECK(parse_error({"--workers"}).message() == "flag '--workers' needs a value N");
  CHECK(parse_error({"--log-level", "debug", "--outbound-listen"}).message() ==
        "flag '--outbound-listen' needs a value ADDR");
  CHECK(parse_error({"workers"}).message() == "unexpected argument 'workers'");
  CHECK(parse_error({"-w", "2"}).message() == "unexpected argument '-w'");
}

TEST_CASE("identity settings come together", "[proxy][config]") {
  Env env(Vars{});
  CHECK(validate(parse_ok({})).has_value());
  auto alone = validate(parse_ok({"--identity-addr", "127.0.0.1:8080"}));
  REQUIRE(!alone);
  CHECK(alone.error().message() == "--identity-addr needs --identity-name too");
  auto no_anchors = validate(parse_ok({"--identity-addr", "127.0.0.1:8080", "--identity-name", "a",
                                       "--identity-token-file", "/t"}));
  REQUIRE(!no_anchors);
  CHECK(no_anchors.error().message() == "--identity-addr needs --trust-anchors too");
  CHECK(validate(parse_ok({"--identity-addr", "127.0.0.1:8080", "--identity-name", "a",
                           "--identity-token-file", "/t", "--trust-anchors", "/ca"}))
            .has_value());
  auto require = validate(parse_ok({"--inbound-require-identity", "true"}));
  REQUIRE(!require);
  CHECK(require.error().message() ==
        "--inbound-require-identity needs an identity (--identity-addr)");
  CHECK(!parse_args({"--inbound-require-identity", "maybe"}, [](const char*) -> const char* {
           return nullptr;
         }).has_value());
  CHECK(!parse_args({"--meshed-endpoints", "127.0.0.1:1="}, [](const char*) -> const char* {
           return nullptr;
         }).has_value());
}

TEST_CASE("--help and -h ask for the usage text", "[proxy][config]") {
  Env env(Vars{});
  for (const Args& args :
       {Args{"--help"}, Args{"-h"}, Args{"--workers", "2", "--help"}, Args{"--help", "--bogus"}}) {
    auto r = parse_args(args, &fake_getenv);
    REQUIRE(r.has_value());
    CHECK(r->help);
  }
}

TEST_CASE("usage() lists every flag", "[proxy][config]") {
  const std::string text = usage();
  size_t flag_lines = 0;
  for (size_t at = text.find("\n  --"); at != std::string::npos; at = text.find("\n  --", at + 1)) {
    ++flag_lines;
  }
  for (const FlagCase& f : every_flag()) {
    INFO(f.flag);
    CHECK_THAT(text, Catch::Contains("  --" + f.flag + " "));
  }
  CHECK_THAT(text, Catch::Contains("  --help"));
  CHECK_THAT(text, Catch::Contains("LMESH_PROXY_"));
  // Every flag above plus --help: a new flag needs a line here and a case in every_flag().
  CHECK(flag_lines == every_flag().size() + 1);
}

TEST_CASE("is_opaque_port looks the port up in the sorted list", "[proxy][config]") {
  Env env(Vars{});
  ProxyConfig c = parse_ok({"--opaque-ports", "9000,25,443"});
  CHECK(c.opaque_ports == std::vector<uint16_t>{25, 443, 9000});
  CHECK(c.is_opaque_port(25));
  CHECK(c.is_opaque_port(443));
  CHECK(c.is_opaque_port(9000));
  CHECK(!c.is_opaque_port(80));
  CHECK(!c.is_opaque_port(0));

  ProxyConfig defaults = parse_ok({});
  CHECK(defaults.is_opaque_port(3306));
  CHECK(!defaults.is_opaque_port(8080));
}

}  // namespace
}  // namespace lmesh::proxy
