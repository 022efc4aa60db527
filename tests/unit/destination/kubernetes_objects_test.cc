// The Kubernetes objects the destination service follows (src/destination/kubernetes/
// objects.h), parsed from recorded, real-shaped API server output (tests/fixtures/kubernetes/)
// and from broken variants of it: what is kept, and the JSON Pointer of what is refused.
#include "destination/kubernetes/objects.h"

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace lmesh::destination::kubernetes {
namespace {

using nlohmann::json;

json fixture(const std::string& name) {
  std::ifstream in(std::string(LMESH_KUBE_FIXTURES) + "/" + name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

// The item of a fixture list with this name.
json item(const std::string& file, const std::string& name) {
  json list = fixture(file);
  for (const json& i : list["items"]) {
    if (i["metadata"]["name"] == name) return i;
  }
  FAIL("no item " << name << " in " << file);
  return {};
}

std::string error_of(const auto& parsed) {
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error().describe();
}

TEST_CASE("a Service with two ports", "[kubernetes][objects]") {
  auto s = parse_service(item("services.json", "web"));
  REQUIRE(s);
  CHECK(s->meta.ns == "default");
  CHECK(s->meta.name == "web");
  CHECK(s->meta.resource_version == "47102");
  CHECK(s->cluster_ips == std::vector<std::string>{"10.96.142.17"});
  CHECK_FALSE(s->external_name);
  CHECK(s->ports == std::vector<ServicePort>{{"http", 8080, ""}, {"grpc", 9090, "grpc"}});
  CHECK(s->opaque_ports.empty());
}

TEST_CASE("a headless Service with opaque ports; UDP ports are dropped", "[kubernetes][objects]") {
  auto db = parse_service(item("services.json", "db"));
  REQUIRE(db);
  CHECK(db->cluster_ips.empty());
  CHECK(db->ports == std::vector<ServicePort>{{"", 5432, ""}});
  CHECK(db->opaque_ports == std::vector<PortRange>{{5432, 5432}});

  auto dns = parse_service(item("services.json", "kube-dns"));
  REQUIRE(dns);
  CHECK(dns->ports == std::vector<ServicePort>{{"dns-tcp", 53, ""}, {"metrics", 9153, ""}});
}

TEST_CASE("ExternalName and dual-stack Services", "[kubernetes][objects]") {
  json s = item("services.json", "web");
  s["spec"] = {{"type", "ExternalName"}, {"externalName", "db.example.com"}};
  auto external = parse_service(s);
  REQUIRE(external);
  CHECK(external->external_name);

  s = item("services.json", "web");
  s["spec"]["clusterIPs"] = {"10.96.142.17", "fd00:10:96::8e11"};
  auto dual = parse_service(s);
  REQUIRE(dual);
  CHECK(dual->cluster_ips == std::vector<std::string>{"10.96.142.17", "fd00:10:96::8e11"});
}

TEST_CASE("malformed Services are refused with a pointer", "[kubernetes][objects]") {
  json s = item("services.json", "web");
  s["spec"]["ports"][1]["port"] = "9090";
  CHECK(error_of(parse_service(s)) == "/spec/ports/1/port: must be a whole number");
  s["spec"]["ports"][1]["port"] = 70000;
  CHECK(error_of(parse_service(s)) == "/spec/ports/1/port: must be between 1 and 65535");

  s = item("services.json", "web");
  s["metadata"].erase("name");
  CHECK(error_of(parse_service(s)) == "/metadata/name: is required");
  s = item("services.json", "web");
  s["metadata"]["namespace"] = 7;
  CHECK(error_of(parse_service(s)) == "/metadata/namespace: must be a string");
  s = item("services.json", "web");
  s.erase("spec");
  CHECK(error_of(parse_service(s)) == "/spec: is required");
  s = item("services.json", "web");
  s["spec"]["clusterIPs"] = {"10.96.300.1"};
  CHECK(error_of(parse_service(s)) == "/spec/clusterIPs/0: must be an IP address or None");
  CHECK(error_of(parse_service(json::array())) == "/: must be an object");

  s = item("services.json", "db");
  s["metadata"]["annotations"]["config.lmesh.io/opaque-ports"] = "5432,mysql";
  CHECK(error_of(parse_service(s)) ==
        "/metadata/annotations/config.lmesh.io~1opaque-ports: \"mysql\" is not a port (1-65535) "
        "or a range of ports (4000-4100)");
}

TEST_CASE("opaque port lists", "[kubernetes][objects]") {
  CHECK(*parse_port_ranges("") == std::vector<PortRange>{});
  CHECK(*parse_port_ranges("3306, 5432,4000-4100,") ==
        std::vector<PortRange>{{3306, 3306}, {5432, 5432}, {4000, 4100}});
  CHECK_FALSE(parse_port_ranges("0"));
  CHECK_FALSE(parse_port_ranges("65536"));
  CHECK_FALSE(parse_port_ranges("4100-4000"));
  CHECK_FALSE(parse_port_ranges("1-"));
}

TEST_CASE("an EndpointSlice keeps ready endpoints and TCP ports", "[kubernetes][objects]") {
  auto web = parse_endpoint_slice(item("endpointslices.json", "web-8xk2p"));
  REQUIRE(web);
  CHECK(web->service == "web");
  CHECK(web->ports == std::vector<SlicePort>{{"http", 8080}, {"grpc", 50051}});
  // 10.244.1.9 is terminating (ready: false): not kept.
  CHECK(web->endpoints ==
        std::vector<SliceEndpoint>{
            {{"10.244.1.5"}, "zone-a", "kind-worker", "default", "web-7d9c8b6f5-x2x7q"},
            {{"10.244.2.7"}, "zone-b", "kind-worker2", "default", "web-7d9c8b6f5-9kqzj"}});

  auto api = parse_endpoint_slice(item("endpointslices.json", "kubernetes"));
  REQUIRE(api);
  CHECK(api->endpoints == std::vector<SliceEndpoint>{{{"172.18.0.2"}, "", "", "default", ""}});

  auto dns = parse_endpoint_slice(item("endpointslices.json", "kube-dns-vqz9c"));
  REQUIRE(dns);
  CHECK(dns->ports == std::vector<SlicePort>{{"dns-tcp", 53}, {"metrics", 9153}});
}

TEST_CASE("EndpointSlice edge cases", "[kubernetes][objects]") {
  json s = item("endpointslices.json", "web-8xk2p");
  s["endpoints"][0]["conditions"].erase("ready");  // nil is ready
  s["endpoints"][1].erase("conditions");
  s["endpoints"][2]["conditions"]["ready"] = nullptr;
  auto all = parse_endpoint_slice(s);
  REQUIRE(all);
  CHECK(all->endpoints.size() == 3);

  s = item("endpointslices.json", "web-8xk2p");
  s["endpoints"] = nullptr;
  s["ports"] = nullptr;
  auto empty = parse_endpoint_slice(s);
  REQUIRE(empty);
  CHECK(empty->endpoints.empty());
  CHECK(empty->ports.empty());

  s = item("endpointslices.json", "web-8xk2p");
  s["addressType"] = "FQDN";
  auto fqdn = parse_endpoint_slice(s);
  REQUIRE(fqdn);
  CHECK(fqdn->endpoints.empty());

  s = item("endpointslices.json", "web-8xk2p");
  s["metadata"]["labels"].erase("kubernetes.io/service-name");
  CHECK(parse_endpoint_slice(s)->service.empty());
}

TEST_CASE("malformed EndpointSlices are refused with a pointer", "[kubernetes][objects]") {
  json s = item("endpointslices.json", "web-8xk2p");
  s["endpoints"][1]["addresses"][0] = "10.244.2";
  CHECK(error_of(parse_endpoint_slice(s)) == "/endpoints/1/addresses/0: must be an IP address");
  s = item("endpointslices.json", "web-8xk2p");
  s["endpoints"][0]["conditions"]["ready"] = "yes";
  CHECK(error_of(parse_endpoint_slice(s)) ==
        "/endpoints/0/conditions/ready: must be true or false");
  s = item("endpointslices.json", "web-8xk2p");
  s["endpoints"][0].erase("addresses");
  CHECK(error_of(parse_endpoint_slice(s)) == "/endpoints/0/addresses: is required");
  s = item("endpointslices.json", "web-8xk2p");
  s["ports"] = {{"name", "http"}};
  CHECK(error_of(parse_endpoint_slice(s)) == "/ports: must be an array");
  s = item("endpointslices.json", "web-8xk2p");
  s["addressType"] = "IPv5";
  CHECK(error_of(parse_endpoint_slice(s)) == "/addressType: must be IPv4, IPv6 or FQDN");
  s = item("endpointslices.json", "web-8xk2p");
  s["metadata"]["labels"] = "web";
  CHECK(error_of(parse_endpoint_slice(s)) == "/metadata/labels: must be an object");
}

TEST_CASE("Pods: meshed by label, ServiceAccount or default", "[kubernetes][objects]") {
  auto meshed = parse_pod(item("pods.json", "web-7d9c8b6f5-x2x7q"));
  REQUIRE(meshed);
  CHECK(meshed->meshed);
  CHECK(meshed->service_account == "web");
  auto plain = parse_pod(item("pods.json", "web-7d9c8b6f5-9kqzj"));
  REQUIRE(plain);
  CHECK_FALSE(plain->meshed);
  auto db = parse_pod(item("pods.json", "db-0"));
  REQUIRE(db);
  CHECK(db->meshed);
  CHECK(db->service_account == "default");

  json p = item("pods.json", "db-0");
  p["spec"]["serviceAccountName"] = false;
  CHECK(error_of(parse_pod(p)) == "/spec/serviceAccountName: must be a string");
}

TEST_CASE("a ServiceProfile's spec is the /v1/profile shape", "[kubernetes][objects]") {
  json p = item("serviceprofiles.json", "web.default.svc.cluster.local");
  auto profile = parse_service_profile(p);
  REQUIRE(profile);
  CHECK(profile->meta.key() == "default/web.default.svc.cluster.local");
  REQUIRE(profile->profile.routes.size() == 2);
  CHECK(profile->profile.routes[0].timeout_ms == 500);
  CHECK(profile->profile.routes[0].retryable);

  p["spec"]["routes"][0]["timeout_ms"] = "500";
  CHECK(error_of(parse_service_profile(p)) == "/spec/routes/0/timeout_ms: must be a whole number");
  p = item("serviceprofiles.json", "web.default.svc.cluster.local");
  p["spec"]["backends"] = {{{"authority", "web-v2.default.svc.cluster.local"}, {"weight", 1}}};
  CHECK(error_of(parse_service_profile(p))
            .starts_with("/spec/backends/0/authority: must be host:port"));
  p["spec"]["backends"][0]["authority"] = "Web-V2.default.svc.cluster.local:8080";
  CHECK(parse_service_profile(p)->profile.backends[0].authority ==
        "web-v2.default.svc.cluster.local:8080");
  p["spec"]["routez"] = json::array();
  CHECK(error_of(parse_service_profile(p)) == "/spec/routez: unknown field");
}

}  // namespace
}  // namespace lmesh::destination::kubernetes
