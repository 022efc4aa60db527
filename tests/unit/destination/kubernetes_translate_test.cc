// Kubernetes objects -> ServiceSpecs (src/destination/kubernetes/translate.h, cluster_state.h):
// the recorded lists of tests/fixtures/kubernetes/ give exact specs (names, endpoints,
// identities of meshed pods only, protocol hints, labels, the profile), and single events
// give exactly the Services they change.
#include "destination/kubernetes/cluster_state.h"

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "destination/kubernetes/translate.h"

namespace lmesh::destination::kubernetes {
namespace {

using discovery::Endpoint;
using discovery::ProtocolHint;
using nlohmann::json;

constexpr const char* kWebId = "web.default.serviceaccount.identity.lmesh.cluster.local";
constexpr const char* kDbId = "default.default.serviceaccount.identity.lmesh.cluster.local";

json fixture(const std::string& name) {
  std::ifstream in(std::string(LMESH_KUBE_FIXTURES) + "/" + name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

std::vector<json> items(const std::string& file) {
  json list = fixture(file);
  return {list["items"].begin(), list["items"].end()};
}

json item(const std::string& file, const std::string& name) {
  for (const json& i : items(file)) {
    if (i["metadata"]["name"] == name) return i;
  }
  FAIL("no item " << name << " in " << file);
  return {};
}

ClusterState loaded(const std::string& domain = "cluster.local") {
  ClusterState state(domain);
  REQUIRE(state.replace(Kind::kServices, items("services.json")).empty());
  REQUIRE(state.replace(Kind::kEndpointSlices, items("endpointslices.json")).empty());
  REQUIRE(state.replace(Kind::kPods, items("pods.json")).empty());
  REQUIRE(state.replace(Kind::kServiceProfiles, items("serviceprofiles.json")).empty());
  return state;
}

Endpoint endpoint(const std::string& addr, const std::string& identity, ProtocolHint protocol,
                  std::map<std::string, std::string> labels) {
  return Endpoint{*net::SocketAddress::parse(addr), 1, identity, protocol, std::move(labels)};
}

std::map<std::string, std::string> pod_labels(const std::string& pod, const std::string& zone,
                                              const std::string& node) {
  return {{"namespace", "default"}, {"pod", pod}, {"zone", zone}, {"node", node}};
}

TEST_CASE("a Service with two ports becomes two exact specs", "[kubernetes][translate]") {
  ClusterState state = loaded();
  std::vector<ServiceSpec> web = state.specs_of("default/web");
  REQUIRE(web.size() == 2);

  const ServiceSpec& http = web[0];
  CHECK(http.authority == "web.default.svc.cluster.local:8080");
  CHECK(http.aliases ==
        std::vector<std::string>{"web.default:8080", "web.default.svc:8080", "10.96.142.17:8080"});
  // The terminating endpoint (ready: false) is not there; the meshed pod alone has an identity.
  CHECK(
      http.endpoints ==
      std::vector<Endpoint>{endpoint("10.244.1.5:8080", kWebId, ProtocolHint::kHttp1,
                                     pod_labels("web-7d9c8b6f5-x2x7q", "zone-a", "kind-worker")),
                            endpoint("10.244.2.7:8080", "", ProtocolHint::kHttp1,
                                     pod_labels("web-7d9c8b6f5-9kqzj", "zone-b", "kind-worker2"))});
  REQUIRE(http.profile.has_value());
  CHECK(discovery::to_json(*http.profile) == json::parse(R"({"routes":[
            {"name":"GET /users","method":"GET","path_regex":"/users/.*","retryable":true,
             "timeout_ms":500},
            {"name":"POST /orders","method":"POST","path_regex":"/orders","timeout_ms":2000,
             "response_classes":[{"status":{"min":500,"max":599},"failure":true}]}],
          "retry_budget":{"ratio":0.2,"min_per_second":10,"ttl_s":10}})"));

  // targetPort 50051 resolved by the slice; appProtocol grpc -> http2; the same profile.
  const ServiceSpec& grpc = web[1];
  CHECK(grpc.authority == "web.default.svc.cluster.local:9090");
  CHECK(grpc.aliases ==
        std::vector<std::string>{"web.default:9090", "web.default.svc:9090", "10.96.142.17:9090"});
  CHECK(
      grpc.endpoints ==
      std::vector<Endpoint>{endpoint("10.244.1.5:50051", kWebId, ProtocolHint::kHttp2,
                                     pod_labels("web-7d9c8b6f5-x2x7q", "zone-a", "kind-worker")),
                            endpoint("10.244.2.7:50051", "", ProtocolHint::kHttp2,
                                     pod_labels("web-7d9c8b6f5-9kqzj", "zone-b", "kind-worker2"))});
  CHECK(grpc.profile.has_value());
}

TEST_CASE("headless, opaque, unmeshed and TCP-only Services", "[kubernetes][translate]") {
  ClusterState state = loaded();
  std::vector<ServiceSpec> db = state.specs_of("default/db");
  REQUIRE(db.size() == 1);
  CHECK(db[0].authority == "db.default.svc.cluster.local:5432");
  CHECK(db[0].aliases == std::vector<std::string>{"db.default:5432", "db.default.svc:5432"});
  CHECK(db[0].endpoints ==
        std::vector<Endpoint>{endpoint("10.244.3.4:5432", kDbId, ProtocolHint::kOpaque,
                                       pod_labels("db-0", "zone-c", "kind-worker3"))});
  CHECK_FALSE(db[0].profile.has_value());

  std::vector<ServiceSpec> api = state.specs_of("default/kubernetes");
  REQUIRE(api.size() == 1);
  CHECK(api[0].authority == "kubernetes.default.svc.cluster.local:443");
  CHECK(api[0].endpoints ==
        std::vector<Endpoint>{
            endpoint("172.18.0.2:6443", "", ProtocolHint::kHttp1, {{"namespace", "default"}})});

  std::vector<ServiceSpec> dns = state.specs_of("kube-system/kube-dns");
  REQUIRE(dns.size() == 2);  // dns (UDP) is not the mesh's
  CHECK(dns[0].authority == "kube-dns.kube-system.svc.cluster.local:53");
  CHECK(dns[1].authority == "kube-dns.kube-system.svc.cluster.local:9153");
  REQUIRE(dns[0].endpoints.size() == 2);
  CHECK(dns[0].endpoints[0].labels ==
        std::map<std::string, std::string>{{"namespace", "kube-system"},
                                           {"pod", "coredns-5d78c9869d-4xk8m"},
                                           {"node", "kind-control-plane"}});

  CHECK(state.specs_of("default/nothing").empty());
  auto all = state.all_specs();
  CHECK(all.size() == 4);
}

TEST_CASE("the cluster domain names the authority and the profile", "[kubernetes][translate]") {
  ClusterState state = loaded("corp.example");
  std::vector<ServiceSpec> web = state.specs_of("default/web");
  REQUIRE(web.size() == 2);
  CHECK(web[0].authority == "web.default.svc.corp.example:8080");
  CHECK_FALSE(web[0].profile.has_value());  // named for cluster.local: not this cluster's

  CHECK(profile_target({"default", "web.default.svc.cluster.local", ""}, "cluster.local") ==
        "default/web");
  CHECK_FALSE(profile_target({"other", "web.default.svc.cluster.local", ""}, "cluster.local"));
  CHECK_FALSE(profile_target({"default", "a.web.default.svc.cluster.local", ""}, "cluster.local"));
  CHECK_FALSE(profile_target({"default", ".default.svc.cluster.local", ""}, "cluster.local"));
}

TEST_CASE("protocol hints", "[kubernetes][translate]") {
  ServiceInfo s;
  s.opaque_ports = {{3306, 3306}, {4000, 4100}};
  CHECK(protocol_hint(s, {"", 8080, "http"}) == ProtocolHint::kHttp1);
  CHECK(protocol_hint(s, {"", 8080, "kubernetes.io/h2c"}) == ProtocolHint::kHttp2);
  CHECK(protocol_hint(s, {"", 8080, "h2c"}) == ProtocolHint::kHttp2);
  CHECK(protocol_hint(s, {"", 8080, "grpc"}) == ProtocolHint::kHttp2);
  CHECK(protocol_hint(s, {"", 8080, ""}) == ProtocolHint::kHttp1);
  CHECK(protocol_hint(s, {"", 4050, ""}) == ProtocolHint::kOpaque);
  // The mesh's own annotation wins over a generic appProtocol.
  CHECK(protocol_hint(s, {"", 3306, "grpc"}) == ProtocolHint::kOpaque);
}

TEST_CASE("events change exactly the Services they touch", "[kubernetes][translate]") {
  ClusterState state = loaded();
  auto affected = [&](Kind kind, EventType type, const json& object) {
    auto o = state.apply(kind, type, object);
    REQUIRE_FALSE(o.rejected);
    return o.affected;
  };
  using V = std::vector<std::string>;

  // A pod's status update changes nothing we read.
  json pod = item("pods.json", "web-7d9c8b6f5-x2x7q");
  pod["status"]["phase"] = "Succeeded";
  CHECK(affected(Kind::kPods, EventType::kModified, pod).empty());
  // The unmeshed pod becomes meshed: the web Service, whose slice points at it.
  pod = item("pods.json", "web-7d9c8b6f5-9kqzj");
  pod["metadata"]["labels"]["lmesh.io/control-plane-ns"] = "lmesh-system";
  CHECK(affected(Kind::kPods, EventType::kModified, pod) == V{"default/web"});
  CHECK(state.specs_of("default/web")[0].endpoints[1].identity == kWebId);
  CHECK(affected(Kind::kPods, EventType::kDeleted, pod) == V{"default/web"});
  CHECK(state.specs_of("default/web")[0].endpoints[1].identity.empty());
  // A pod no slice points at.
  pod["metadata"]["name"] = "batch-job-1";
  CHECK(affected(Kind::kPods, EventType::kAdded, pod).empty());

  json slice = item("endpointslices.json", "web-8xk2p");
  slice["endpoints"].erase(1);
  CHECK(affected(Kind::kEndpointSlices, EventType::kModified, slice) == V{"default/web"});
  CHECK(state.specs_of("default/web")[0].endpoints.size() == 1);
  CHECK(affected(Kind::kEndpointSlices, EventType::kDeleted, slice) == V{"default/web"});
  CHECK(state.specs_of("default/web")[0].endpoints.empty());

  json svc = item("services.json", "db");
  CHECK(affected(Kind::kServices, EventType::kDeleted, svc) == V{"default/db"});
  CHECK(state.specs_of("default/db").empty());

  json profile = item("serviceprofiles.json", "web.default.svc.cluster.local");
  CHECK(affected(Kind::kServiceProfiles, EventType::kDeleted, profile) == V{"default/web"});
  CHECK_FALSE(state.specs_of("default/web")[0].profile.has_value());
  profile["metadata"]["name"] = "unrelated";
  CHECK(affected(Kind::kServiceProfiles, EventType::kAdded, profile).empty());
}

TEST_CASE("refused objects", "[kubernetes][translate]") {
  ClusterState state = loaded();
  // A bad Service keeps its last good version.
  json svc = item("services.json", "web");
  svc["spec"]["ports"][0]["port"] = -1;
  auto o = state.apply(Kind::kServices, EventType::kModified, svc);
  REQUIRE(o.rejected);
  CHECK(o.rejected->describe() == "default/web: /spec/ports/0/port: must be between 1 and 65535");
  CHECK(o.affected.empty());
  CHECK(state.specs_of("default/web").size() == 2);

  // A bad ServiceProfile is refused and its Service served without it.
  json profile = item("serviceprofiles.json", "web.default.svc.cluster.local");
  profile["spec"]["routes"][0]["timeout_ms"] = "soon";
  o = state.apply(Kind::kServiceProfiles, EventType::kModified, profile);
  REQUIRE(o.rejected);
  CHECK(o.rejected->describe() ==
        "default/web.default.svc.cluster.local: /spec/routes/0/timeout_ms: must be a whole number");
  CHECK(o.affected == std::vector<std::string>{"default/web"});
  CHECK_FALSE(state.specs_of("default/web")[0].profile.has_value());

  // A list with one bad item keeps the others.
  std::vector<json> list = items("services.json");
  list[0].erase("metadata");
  auto refused = state.replace(Kind::kServices, list);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].describe() == "/metadata: is required");
  CHECK(state.size(Kind::kServices) == 3);
}

TEST_CASE("a name two Services claim stays with the first", "[kubernetes][translate]") {
  ClusterState state("cluster.local");
  std::vector<json> services = items("services.json");
  json clone = item("services.json", "web");
  clone["metadata"]["name"] = "web2";  // the same cluster IP, as while events are in flight
  services.push_back(clone);
  REQUIRE(state.replace(Kind::kServices, services).empty());
  auto all = state.all_specs();
  CHECK(all.at("default/web")[0].aliases.back() == "10.96.142.17:8080");
  CHECK(all.at("default/web2")[0].aliases ==
        std::vector<std::string>{"web2.default:8080", "web2.default.svc:8080"});
}

}  // namespace
}  // namespace lmesh::destination::kubernetes
