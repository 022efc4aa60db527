// The mesh file's `pods:` list (src/destination/mesh_file_pods.h): fields and their defaults,
// and each kind of mistake reported as "file:line: field: message" at the field's line.
#include "destination/mesh_file_pods.h"

#include <catch2/catch.hpp>

#include "destination/mesh_file.h"

namespace lmesh::destination {
namespace {

MeshFile parse_ok(const std::string& text) {
  auto r = parse_mesh_file(text, "mesh.yaml");
  INFO((r ? std::string() : r.error().describe()));
  REQUIRE(r.has_value());
  return std::move(*r);
}

std::string parse_error(const std::string& text) {
  auto r = parse_mesh_file(text, "mesh.yaml");
  REQUIRE(!r.has_value());
  return r.error().describe();
}

TEST_CASE("pods with every field, and with defaults", "[destination][mesh_file][pods]") {
  MeshFile mesh = parse_ok(R"(services:
  web:8080:
    endpoints: [{addr: 198.18.0.12:8080, labels: {pod: web-1}}]
pods:
  - name: web-1
    namespace: shop
    workload: deployment/frontend
    service_account: web
    identity: web.shop.serviceaccount.identity.lmesh.cluster.local
    addr: 198.18.0.12
    admin: 127.0.0.1:14191
  - name: web-abc-2
    addr: "::0001"
  - {name: db, addr: 198.18.0.20, workload: StatefulSet/db}
workloads: {anything: [goes, here]}
)");
  REQUIRE(mesh.services.size() == 1);
  REQUIRE(mesh.pods.size() == 3);
  CHECK(mesh.pods[0] == PodSpec{"web-1", "shop", "deploy/frontend", "web",
                                "web.shop.serviceaccount.identity.lmesh.cluster.local",
                                "198.18.0.12", "127.0.0.1:14191"});
  // Defaults: namespace default, deploy/<name minus its last -suffix>, ServiceAccount
  // default, no identity (unmeshed), the admin port 4191 at the pod's address.
  CHECK(mesh.pods[1] ==
        PodSpec{"web-abc-2", "default", "deploy/web-abc", "default", "", "::1", "[::1]:4191"});
  CHECK(mesh.pods[2].workload == "statefulset/db");

  CHECK(parse_ok("pods:\n").pods.empty());
  CHECK(parse_ok("pods: []\nservices:\n").pods.empty());
  // One name in two namespaces is two pods.
  CHECK(parse_ok("pods:\n  - {name: a-1, addr: 10.0.0.1}\n"
                 "  - {name: a-1, namespace: b, addr: 10.0.0.2}\n")
            .pods.size() == 2);
}

TEST_CASE("default workloads", "[destination][mesh_file][pods]") {
  CHECK(default_workload("web-1") == "deploy/web");
  CHECK(default_workload("web-v2-7") == "deploy/web-v2");
  CHECK(default_workload("web") == "deploy/web");
  CHECK(normalize_workload("deploy/web") == "deploy/web");
  CHECK(normalize_workload("Deployments/web") == "deploy/web");
  CHECK(normalize_workload("po/web-1") == "pod/web-1");
  CHECK(normalize_workload("daemonset/agent") == "daemonset/agent");
  CHECK_FALSE(normalize_workload("web"));
  CHECK_FALSE(normalize_workload("deploy/"));
  CHECK_FALSE(normalize_workload("/web"));
  CHECK_FALSE(normalize_workload("deploy/Web"));
  CHECK_FALSE(normalize_workload("deploy/web/x"));
  CHECK_FALSE(normalize_workload("de-ploy/web"));
}

TEST_CASE("bad pods name their line and field", "[destination][mesh_file][pods]") {
  CHECK(parse_error("pods:\n  - name: web-1\n    addr: 10.0.0.1\n    adrr: x\n") ==
        "mesh.yaml:4: pods/0/adrr: unknown field");
  CHECK(parse_error("pods:\n  - {name: web-1, addr: 10.0.0.1}\n  - name: web-1\n"
                    "    addr: 10.0.0.2\n") ==
        "mesh.yaml:3: pods/1/name: is the same pod as pods/0 (in namespace default)");
  CHECK(parse_error("pods:\n  - name: web-1\n    namespace: default\n"
                    "  - {name: web-1, addr: 10.0.0.2}\n")
            .starts_with("mesh.yaml:2: pods/0/addr: is required"));
  CHECK(parse_error("pods:\n  - addr: 10.0.0.1\n") == "mesh.yaml:2: pods/0/name: is required");
  CHECK(parse_error("pods:\n  - name: web-1\n    addr: 10.0.0.1:80\n") ==
        "mesh.yaml:3: pods/0/addr: must be an IP address (no port)");
  CHECK(parse_error("pods:\n  - name: web-1\n    addr: 10.0.0.1\n    admin: 10.0.0.1\n") ==
        "mesh.yaml:4: pods/0/admin: must be IP:port, such as 198.18.0.12:4191");
  CHECK(parse_error("pods:\n  - name: web-1\n    addr: 10.0.0.1\n    workload: web\n") ==
        "mesh.yaml:4: pods/0/workload: must be KIND/NAME, such as deploy/web");
  CHECK(parse_error("pods:\n  - name: Web_1\n    addr: 10.0.0.1\n")
            .starts_with("mesh.yaml:2: pods/0/name: must be a DNS-1123 subdomain"));
  CHECK(parse_error("pods:\n  - name: web-1\n    addr: 10.0.0.1\n    namespace: a.b\n")
            .starts_with("mesh.yaml:4: pods/0/namespace: must be a DNS-1123 label"));
  CHECK(parse_error("pods:\n  - name: web-1\n    addr: 10.0.0.1\n    identity: 7\n") ==
        "mesh.yaml:4: pods/0/identity: must be a string");
  CHECK(parse_error("pods:\n  web-1: {addr: 10.0.0.1}\n") ==
        "mesh.yaml:1: pods: must be a list of pods");
  CHECK(parse_error("pods:\n  - web-1\n") == "mesh.yaml:2: pods/0: must be an object");
  CHECK(parse_error("podz: []\n") == "mesh.yaml:1: podz: unknown field");
}

}  // namespace
}  // namespace lmesh::destination
