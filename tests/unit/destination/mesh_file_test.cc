// The mesh file (src/destination/mesh_file.h) and authorities (authority.h): a good file
// becomes ServiceSpecs, and each kind of mistake is reported as "file:line: field: message"
// with the line of the field.
#include "destination/mesh_file.h"

#include <catch2/catch.hpp>

#include "destination/authority.h"

namespace lmesh::destination {
namespace {

std::vector<ServiceSpec> parse_ok(const std::string& text) {
  auto r = parse_mesh_file(text, "mesh.yaml");
  INFO((r ? std::string() : r.error().describe()));
  REQUIRE(r.has_value());
  return std::move(r->services);
}

std::string parse_error(const std::string& text) {
  auto r = parse_mesh_file(text, "mesh.yaml");
  REQUIRE(!r.has_value());
  return r.error().describe();
}

constexpr const char* kGood = R"(services:
  Web.Default.svc.cluster.local:8080:          # the authority, any case
    aliases: ["web:8080", "198.18.255.1:8080"]
    endpoints:
      - addr: 198.18.0.12:8080
        identity: web.default.serviceaccount.identity.lmesh.cluster.local
        protocol: http2
        weight: 3
        labels: {pod: web-1, zone: a}
      - addr: 198.18.0.13:8080
    profile:
      routes: [{name: "GET /users", method: GET, path_regex: "/users/.*", retryable: true, timeout_ms: 500}]
      retry_budget: {ratio: 0.2, min_per_second: 10, ttl_s: 10}
      backends: [{authority: "WEB-v2.default.svc.cluster.local:8080", weight: 10}]
  db:5432:
workloads:
  anything: [goes, here]
)";

TEST_CASE("authorities are normalized host:port", "[destination][authority]") {
  CHECK(*normalize_authority("Web.Default.SVC.cluster.local.:8080") ==
        "web.default.svc.cluster.local:8080");
  CHECK(*normalize_authority("198.18.0.1:80") == "198.18.0.1:80");
  CHECK(*normalize_authority("[::1]:80") == "[::1]:80");
  CHECK(*normalize_authority("[0:0::1]:80") == "[::1]:80");
  CHECK(*normalize_authority("my_svc:1") == "my_svc:1");
  CHECK(normalize_authority("web").error().message() ==
        "authority \"web\" has no port (expected host:port)");
  CHECK(normalize_authority("[::1]").error().message().find("has no port") != std::string::npos);
  CHECK(normalize_authority("web:").error().message().find("no valid port") != std::string::npos);
  CHECK(normalize_authority("web:0").error().message().find("no valid port") != std::string::npos);
  CHECK(normalize_authority("web:65536").error().message().find("no valid port") !=
        std::string::npos);
  CHECK(normalize_authority("web:80x").error().message().find("no valid port") !=
        std::string::npos);
  CHECK(normalize_authority("::1:80").error().message().find("without brackets") !=
        std::string::npos);
  CHECK(normalize_authority("we b:80").error().message().find("invalid host") != std::string::npos);
  CHECK(normalize_authority("a..b:80").error().message().find("invalid host") != std::string::npos);
  CHECK(normalize_authority(":80").error().message().find("invalid host") != std::string::npos);
  CHECK(!normalize_authority("").has_value());
}

TEST_CASE("a good mesh file", "[destination][mesh-file]") {
  auto services = parse_ok(kGood);
  REQUIRE(services.size() == 2);
  // Services come in the order of their keys as written ("W" sorts before "d").
  const ServiceSpec& db = services[1];
  CHECK(db.authority == "db:5432");
  CHECK(db.endpoints.empty());
  CHECK(!db.profile);
  const ServiceSpec& web = services[0];
  CHECK(web.authority == "web.default.svc.cluster.local:8080");
  CHECK(web.aliases == std::vector<std::string>{"web:8080", "198.18.255.1:8080"});
  REQUIRE(web.endpoints.size() == 2);
  CHECK(web.endpoints[0].address.to_string() == "198.18.0.12:8080");
  CHECK(web.endpoints[0].weight == 3);
  CHECK(web.endpoints[0].protocol == discovery::ProtocolHint::kHttp2);
  CHECK(web.endpoints[0].labels.at("zone") == "a");
  CHECK(web.endpoints[1].weight == 1);
  REQUIRE(web.profile.has_value());
  REQUIRE(web.profile->routes.size() == 1);
  CHECK(web.profile->routes[0].timeout_ms == 500);
  CHECK(web.profile->routes[0].retryable);
  CHECK(web.profile->backends[0].authority == "web-v2.default.svc.cluster.local:8080");
}

TEST_CASE("JSON mesh files and empty sections", "[destination][mesh-file]") {
  auto services = parse_ok(
      R"({"services": {"a:1": {"endpoints": [{"addr": "127.0.0.1:1"}], "profile": null}}})");
  REQUIRE(services.size() == 1);
  CHECK(services[0].endpoints.size() == 1);
  CHECK(parse_ok("services:\n").empty());
  CHECK(parse_ok("workloads: {}\n").empty());
}

TEST_CASE("mistakes name file, line and field", "[destination][mesh-file]") {
  // A quoted number stays a string, and the field's check refuses it.
  CHECK(parse_error("services:\n"
                    "  web:8080:\n"
                    "    profile:\n"
                    "      routes:\n"
                    "        - name: users\n"
                    "          timeout_ms: \"500\"\n") ==
        "mesh.yaml:6: services/web:8080/profile/routes/0/timeout_ms: must be a whole number");

  CHECK(parse_error("services:\n"
                    "  web:8080:\n"
                    "    endpoints:\n"
                    "      - addr: 198.18.0.12:8080\n"
                    "      - addr: 198.18.0.13:8080\n"
                    "        weight: 0\n") ==
        "mesh.yaml:6: services/web:8080/endpoints/1/weight: must be between 1 and 1000000");

  CHECK(parse_error("services:\n"
                    "  web:8080:\n"
                    "    endpoints:\n"
                    "      - {addr: 198.18.0.12:8080}\n"
                    "      - {addr: 198.18.0.12:8080, weight: 2}\n") ==
        "mesh.yaml:5: services/web:8080/endpoints/1/addr: is the same address as endpoints/0");

  CHECK(parse_error("services:\n"
                    "  web:8080:\n"
                    "    profile:\n"
                    "      routes:\n"
                    "        - name: users\n"
                    "          path_regex: \"/users/([\"\n")
            .starts_with("mesh.yaml:6: services/web:8080/profile/routes/0/path_regex: is not a "
                         "valid regular expression"));

  CHECK(parse_error("services:\n"
                    "  web:8080:\n"
                    "    endpoint:\n"
                    "      - addr: 198.18.0.12:8080\n") ==
        "mesh.yaml:3: services/web:8080/endpoint: unknown field");

  CHECK(parse_error("services:\n"
                    "  web:8080:\n"
                    "    endpoints:\n"
                    "      - weight: 2\n") ==
        "mesh.yaml:4: services/web:8080/endpoints/0/addr: is required");

  CHECK(parse_error("services:\n"
                    "  web:\n"
                    "    endpoints: []\n") ==
        "mesh.yaml:2: services/web: authority \"web\" has no port (expected host:port)");

  CHECK(parse_error("services:\n"
                    "  web:80:\n"
                    "    profile:\n"
                    "      retryable: yes\n") ==
        "mesh.yaml:4: services/web:80/profile/retryable: unknown field");

  CHECK(parse_error("services:\n"
                    "  web:80:\n"
                    "    profile:\n"
                    "      routes: [{name: a, retryable: yes}]\n") ==
        "mesh.yaml:4: services/web:80/profile/routes/0/retryable: must be true or false");

  CHECK(parse_error("services:\n"
                    "  web:80:\n"
                    "    profile:\n"
                    "      backends:\n"
                    "        - {authority: web-v2, weight: 1}\n") ==
        "mesh.yaml:5: services/web:80/profile/backends/0/authority: must be host:port "
        "(authority \"web-v2\" has no port (expected host:port))");

  CHECK(parse_error("services:\n"
                    "  web:80:\n"
                    "    profile:\n"
                    "      backends:\n"
                    "        - {authority: a:1, weight: 0}\n"
                    "        - {authority: b:1, weight: 0}\n") ==
        "mesh.yaml:4: services/web:80/profile/backends: needs at least one backend with a "
        "weight above 0");

  CHECK(parse_error("service:\n  web:80: {}\n") == "mesh.yaml:1: service: unknown field");
  CHECK(parse_error("") == "mesh.yaml:1: the file is empty (expected services:)");
  CHECK(parse_error("- a\n- b\n") == "mesh.yaml:1: must be an object");
  CHECK(parse_error("services: [a, b]\n") ==
        "mesh.yaml:1: services: must be a mapping of host:port to services");
}

TEST_CASE("one name, one service", "[destination][mesh-file]") {
  CHECK(parse_error("services:\n"
                    "  web:80:\n"
                    "    aliases: [w:80]\n"
                    "  WEB:80: {}\n")
            .ends_with("is the same service as services/WEB:80"));

  CHECK(parse_error("services:\n"
                    "  a:80:\n"
                    "    aliases: [shared:80]\n"
                    "  b:80:\n"
                    "    aliases:\n"
                    "      - other:80\n"
                    "      - Shared:80\n") ==
        "mesh.yaml:7: services/b:80/aliases/1: already names service a:80 (as an alias)");

  CHECK(parse_error("services:\n"
                    "  a:80:\n"
                    "    aliases: [b:80]\n"
                    "  b:80: {}\n") ==
        "mesh.yaml:3: services/a:80/aliases/0: already names service b:80");

  CHECK(parse_error("services:\n"
                    "  a:80:\n"
                    "    aliases: [x:80, X:80]\n") ==
        "mesh.yaml:3: services/a:80/aliases/1: is given twice");

  CHECK(parse_error("services:\n"
                    "  a:80:\n"
                    "    aliases: [A:80]\n") ==
        "mesh.yaml:3: services/a:80/aliases/0: is the service's own authority");

  CHECK(parse_error("services:\n"
                    "  a:80:\n"
                    "    aliases: [noport]\n") ==
        "mesh.yaml:3: services/a:80/aliases/0: authority \"noport\" has no port (expected "
        "host:port)");
}

TEST_CASE("YAML syntax errors name file and line", "[destination][mesh-file]") {
  std::string e = parse_error("services:\n  web:80:\n    endpoints: [\n");
  CHECK(e.starts_with("mesh.yaml:"));
  CHECK(e.find("not valid YAML") != std::string::npos);
  CHECK(parse_error("services:\n  web:80: {}\n  web:80: {}\n") ==
        "mesh.yaml:3: services/web:80: is given twice");
}

}  // namespace
}  // namespace lmesh::destination
