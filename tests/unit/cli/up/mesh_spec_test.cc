#include "cli/up/mesh_spec.h"

#include <catch2/catch.hpp>

#include <string>

using lmesh::up::parse_mesh_spec;

namespace {

std::string error_of(const std::string& text) {
  auto spec = parse_mesh_spec(text, "mesh.yaml", "/demo");
  REQUIRE_FALSE(spec.has_value());
  return spec.error().message();
}

}  // namespace

TEST_CASE("a workload takes its defaults from its name", "[up]") {
  auto spec = parse_mesh_spec(
      "workloads:\n"
      "  - name: web\n"
      "    command: [python3, \"{demo}/books/web.py\"]\n"
      "    env: {PORT: \"8080\", DATA: \"{demo}/data\"}\n"
      "    ports: [{port: 8080}]\n",
      "mesh.yaml", "/opt/demo");
  REQUIRE(spec.has_value());
  REQUIRE(spec->workloads.size() == 1);
  const auto& w = spec->workloads[0];
  CHECK(w.namespace_name == "default");
  CHECK(w.service_account == "web");
  CHECK(w.replicas == 1);
  CHECK(w.command == std::vector<std::string>{"python3", "/opt/demo/books/web.py"});
  CHECK(w.env.at("DATA") == "/opt/demo/data");
  CHECK(w.services == std::vector<std::string>{"web"});
  REQUIRE(w.ports.size() == 1);
  CHECK(w.ports[0].protocol == lmesh::discovery::ProtocolHint::kHttp1);
}

TEST_CASE("the demo mesh parses", "[up]") {
  auto spec = lmesh::up::load_mesh_spec(LMESH_DEMO_DIR "/mesh.yaml", LMESH_DEMO_DIR);
  REQUIRE(spec.has_value());
  CHECK(spec->workloads.size() >= 4);
  CHECK_FALSE(spec->services.empty());
}

TEST_CASE("mistakes name the line and the field", "[up]") {
  CHECK(error_of("workloads:\n  - name: web\n    command: [x]\n    replicas: 101\n") ==
        "mesh.yaml:4: workloads/0/replicas: must be between 0 and 100");
  CHECK(error_of("workloads:\n  - name: web\n    comand: [x]\n") ==
        "mesh.yaml:3: workloads/0/comand: unknown field");
  CHECK(error_of("workloads:\n  - name: Web\n    command: [x]\n").find("DNS-1123") !=
        std::string::npos);
  CHECK(error_of("workloads:\n  - name: web\n    command: []\n") ==
        "mesh.yaml:3: workloads/0/command: must name a program");
  CHECK(error_of("workloads:\n  - name: web\n    command: [x]\n    env: {LMESH_POD_NAME: a}\n")
            .find("set by lmesh up") != std::string::npos);
  CHECK(error_of("workloads:\n  - name: web\n    command: [x]\n    ports: [{port: 1, protocol: "
                 "tcp}]\n")
            .find("must be http1, http2 or opaque") != std::string::npos);
  CHECK(error_of("workloads:\n  - {name: a, command: [x], ports: [{port: 1}]}\n"
                 "  - {name: a, command: [y], ports: [{port: 2}]}\n")
            .find("names a workload twice") != std::string::npos);
  CHECK(error_of("workloads:\n  - {name: a, command: [x], ports: [{port: 4143}]}\n") ==
        "mesh.yaml:2: workloads/0/ports/0/port: is the sidecar proxy's (4140, 4143, 4190 and "
        "4191 are reserved)");
  CHECK(error_of("workloads:\n  - {name: a, command: [x]}\n").find("must list its ports") !=
        std::string::npos);
  CHECK(error_of("workloads:\n  - {name: a, command: [x], ports: [{port: 1}]}\nservices:\n"
                 "  a:\n    profile: {routes: [{name: r, timeout_ms: \"5\"}]}\n")
            .find("services/a/profile/routes/0/timeout_ms") != std::string::npos);
}
