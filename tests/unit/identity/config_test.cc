// lmesh-identity's configuration (src/identity/config.h): defaults, --issuer-dir, the
// LMESH_IDENTITY_* environment through an injected getenv, precedence, the token source, and
// errors that name the flag or variable.
#include "identity/config.h"

#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace lmesh::identity {
namespace {

using namespace std::chrono_literals;
using Args = std::vector<std::string>;

// GetEnvFn is a plain function pointer, so the fake environment is a global.
std::map<std::string, std::string> g_env;
const char* fake_getenv(const char* name) {
  auto it = g_env.find(name);
  return it == g_env.end() ? nullptr : it->second.c_str();
}
using Vars = std::map<std::string, std::string>;
struct Env {
  explicit Env(Vars vars) { g_env = std::move(vars); }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  ~Env() { g_env.clear(); }
};

// The smallest valid command line: a CA and a token source.
const Args kMinimal = {"--issuer-dir", "/ca", "--token-file", "/tokens"};

IdentityConfig parse_ok(const Args& args) {
  auto r = parse_args(args, &fake_getenv);
  INFO((r ? std::string("ok") : r.error().describe()));
  REQUIRE(r.has_value());
  REQUIRE(!r->help);
  return r->config;
}

std::string parse_error(const Args& args) {
  auto r = parse_args(args, &fake_getenv);
  REQUIRE(!r.has_value());
  return r.error().describe();
}

Args with(Args base, const Args& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

TEST_CASE("defaults and --issuer-dir", "[identity][config]") {
  Env env(Vars{});
  IdentityConfig c = parse_ok(kMinimal);
  CHECK(c.listen.to_string() == "0.0.0.0:8080");
  CHECK(c.issuance_lifetime == 24h);
  CHECK(c.clock_skew_allowance == 20s);
  CHECK(c.issuer.trust_anchors == "/ca/ca.crt");
  CHECK(c.issuer.issuer_cert == "/ca/issuer.crt");
  CHECK(c.issuer.issuer_key == "/ca/issuer.key");
  CHECK(c.token_file == "/tokens");
  CHECK(!c.kubernetes_api.has_value());
  CHECK(c.kubernetes_token_file == "/var/run/secrets/kubernetes.io/serviceaccount/token");
  CHECK(c.kubernetes_ca_file == "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
  CHECK(c.server_identity == "identity.lmesh-system.serviceaccount.identity.lmesh.cluster.local");
  CHECK(c.log_format == log::Format::kText);
  CHECK(parse_ok(with(kMinimal,
                      {"--server-identity", "ca.mesh.serviceaccount.identity.lmesh.cluster.local"}))
            .server_identity == "ca.mesh.serviceaccount.identity.lmesh.cluster.local");
  CHECK(parse_error(with(kMinimal, {"--server-identity", "identity.example.com"}))
            .find("--server-identity") != std::string::npos);
  CHECK(parse_ok(with(kMinimal, {"--kubernetes-ca-file", "/ca.pem"})).kubernetes_ca_file ==
        "/ca.pem");
}

TEST_CASE("explicit issuer files win over --issuer-dir", "[identity][config]") {
  Env env(Vars{});
  IdentityConfig c = parse_ok(with(kMinimal, {"--issuer-key=/secret/k.pem"}));
  CHECK(c.issuer.issuer_key == "/secret/k.pem");
  CHECK(c.issuer.issuer_cert == "/ca/issuer.crt");
  c = parse_ok(
      {"--trust-anchors", "/a", "--issuer-cert", "/b", "--issuer-key", "/c", "--token-file", "/t"});
  CHECK(c.issuer.trust_anchors == "/a");
  CHECK(c.issuer.issuer_cert == "/b");
  CHECK(c.issuer.issuer_key == "/c");
}

TEST_CASE("every setting is read from LMESH_IDENTITY_*; a flag wins", "[identity][config]") {
  Env env(Vars{{"LMESH_IDENTITY_ISSUER_DIR", "/env-ca"},
               {"LMESH_IDENTITY_TOKEN_FILE", "/env-tokens"},
               {"LMESH_IDENTITY_LISTEN", "127.0.0.1:9"},
               {"LMESH_IDENTITY_ISSUANCE_LIFETIME", "2h"},
               {"LMESH_IDENTITY_CLOCK_SKEW_ALLOWANCE", "1m"},
               {"LMESH_IDENTITY_LOG_FORMAT", "json"}});
  IdentityConfig c = parse_ok({"--issuance-lifetime", "90m"});
  CHECK(c.issuer.issuer_key == "/env-ca/issuer.key");
  CHECK(c.token_file == "/env-tokens");
  CHECK(c.listen.to_string() == "127.0.0.1:9");
  CHECK(c.issuance_lifetime == 90min);  // the flag, not the variable
  CHECK(c.clock_skew_allowance == 60s);
  CHECK(c.log_format == log::Format::kJson);
}

TEST_CASE("bad values fail naming the flag or variable", "[identity][config]") {
  Env env(Vars{});
  struct Case {
    Args args;
    std::string names;
  };
  for (const Case& k : std::vector<Case>{
           {{"--listen", "nowhere"}, "--listen"},
           {{"--issuance-lifetime", "soon"}, "--issuance-lifetime"},
           {{"--issuance-lifetime", "4s"}, "--issuance-lifetime"},  // below the 5 s floor
           {{"--clock-skew-allowance", "-1s"}, "--clock-skew-allowance"},
           {{"--log-format", "xml"}, "--log-format"},
           {{"--log-level", "loud"}, "--log-level"},
           {{"--kubernetes-api", "http://host/with/path"}, "--kubernetes-api"},
           {{"--kubernetes-api", "host-without-port"}, "--kubernetes-api"},
           {{"--no-such-flag", "1"}, "--no-such-flag"},
           {{"--token-file"}, "--token-file"},
       }) {
    std::string e = parse_error(with(kMinimal, k.args));
    INFO(e);
    CHECK(e.find(k.names) != std::string::npos);
  }
  Env bad_env(Vars{{"LMESH_IDENTITY_ISSUANCE_LIFETIME", "forever"}});
  std::string e = parse_error(kMinimal);
  CHECK(e.find("LMESH_IDENTITY_ISSUANCE_LIFETIME") != std::string::npos);
}

TEST_CASE("the CA and a token source are required", "[identity][config]") {
  Env env(Vars{});
  CHECK(parse_error({"--token-file", "/t"}).find("--trust-anchors") != std::string::npos);
  CHECK(parse_error({"--issuer-dir", "/ca"}).find("--token-file") != std::string::npos);
}

TEST_CASE("the Kubernetes API: flag, pod environment, scheme", "[identity][config]") {
  SECTION("from KUBERNETES_SERVICE_HOST/PORT when there is no token file") {
    Env env(Vars{{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "6443"}});
    IdentityConfig c = parse_ok({"--issuer-dir", "/ca"});
    REQUIRE(c.kubernetes_api.has_value());
    CHECK(c.kubernetes_api->address.to_string() == "10.96.0.1:6443");
    CHECK(c.kubernetes_api->tls);
    CHECK(c.kubernetes_api->source == "KUBERNETES_SERVICE_HOST");
  }
  SECTION("IPv6 service host") {
    Env env(Vars{{"KUBERNETES_SERVICE_HOST", "fd00::1"}});
    IdentityConfig c = parse_ok({"--issuer-dir", "/ca"});
    REQUIRE(c.kubernetes_api.has_value());
    CHECK(c.kubernetes_api->address.host == "fd00::1");
    CHECK(c.kubernetes_api->address.port == 443);
  }
  SECTION("http:// is plain, and the flag wins over the pod environment") {
    Env env(Vars{{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}});
    IdentityConfig c =
        parse_ok({"--issuer-dir", "/ca", "--kubernetes-api", "http://127.0.0.1:8001/"});
    REQUIRE(c.kubernetes_api.has_value());
    CHECK(!c.kubernetes_api->tls);
    CHECK(c.kubernetes_api->address.to_string() == "127.0.0.1:8001");
  }
  SECTION("a token file wins over the pod environment") {
    Env env(Vars{{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}});
    IdentityConfig c = parse_ok(kMinimal);
    CHECK(!c.kubernetes_api.has_value());
  }
}

TEST_CASE("--help", "[identity][config]") {
  Env env(Vars{});
  auto r = parse_args({"--help"}, &fake_getenv);
  REQUIRE(r.has_value());
  CHECK(r->help);
  CHECK(usage().find("--issuance-lifetime") != std::string::npos);
}

}  // namespace
}  // namespace lmesh::identity
