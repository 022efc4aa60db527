// GET /v1/pods' targets (src/destination/pod_target.h): kinds and their other names, the
// namespace rules, and which pods each target means over a small mesh, with the services
// derived from the endpoints' labels.
#include "destination/pod_target.h"

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

namespace lmesh::destination {
namespace {

Target target(std::optional<std::string_view> t, std::optional<std::string_view> ns = {}) {
  auto r = parse_target(t, ns);
  INFO((r ? std::string() : r.error().describe()));
  REQUIRE(r.has_value());
  return *r;
}

std::string target_error(std::optional<std::string_view> t,
                         std::optional<std::string_view> ns = {}) {
  auto r = parse_target(t, ns);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  return r.error().message();
}

TEST_CASE("targets: kinds, names and namespaces", "[destination][pods]") {
  using K = TargetKind;
  CHECK(target({}) == Target{K::kEverything, "", "default"});
  CHECK(target("", "") == Target{K::kEverything, "", "default"});
  for (auto kind : {"deploy", "deployment", "deployments", "Deployment"}) {
    CHECK(target(std::string(kind) + "/web", "prod") == Target{K::kDeploy, "web", "prod"});
  }
  for (auto kind : {"pod", "po", "pods"}) {
    CHECK(target(std::string(kind) + "/web-1") == Target{K::kPod, "web-1", "default"});
  }
  for (auto kind : {"svc", "service", "services"}) {
    CHECK(target(kind) == Target{K::kService, "", "default"});
  }
  for (auto kind : {"ns", "namespace", "namespaces"}) {
    CHECK(target(kind, "x") == Target{K::kNamespace, "", "x"});
  }
  // ns/NAME looks in NAME, whatever namespace= says.
  CHECK(target("ns/prod", "other") == Target{K::kNamespace, "prod", "prod"});

  CHECK(target_error("rs/web") == "target rs/web: unknown kind \"rs\" (deploy, pod, svc or ns)");
  CHECK(target_error("/web").starts_with("target /web: unknown kind"));
  CHECK(target_error("deploy/").starts_with("target deploy/: \"\" is not a DNS-1123 subdomain"));
  CHECK(target_error("deploy/a/b").starts_with("target deploy/a/b: \"a/b\" is not"));
  CHECK(target_error("deploy/Web").starts_with("target deploy/Web: \"Web\" is not"));
  CHECK(target_error("svc/web.default")
            .starts_with("target svc/web.default: \"web.default\" is "
                         "not a DNS-1123 label"));
  CHECK(target_error("deploy/web", "Prod").starts_with("namespace \"Prod\" is not"));
  CHECK(target_error({}, "a.b").starts_with("namespace \"a.b\" is not"));

  CHECK(target("deploy/web").describe() == "deploy/web in namespace default");
  CHECK(target("deploy", "prod").describe() == "deploy in namespace prod");
  CHECK(target("ns/prod").describe() == "ns/prod");
}

TEST_CASE("service names a host gives in a namespace", "[destination][pods]") {
  for (auto host : {"web", "web.prod", "web.prod.svc", "web.prod.svc.example.org"}) {
    CHECK(service_name_in(host, "prod", "example.org") == "web");
  }
  CHECK_FALSE(service_name_in("web.prod.svc.cluster.local", "prod", "example.org"));
  CHECK_FALSE(service_name_in("web.default", "prod", "cluster.local"));
  CHECK_FALSE(service_name_in("198.18.255.1", "prod", "cluster.local"));
  CHECK_FALSE(service_name_in("web.prod.svc.cluster.local.evil", "prod", "cluster.local"));
}

PodSpec pod(std::string ns, std::string name, std::string workload) {
  return PodSpec{std::move(name), std::move(ns),    std::move(workload), "default", "",
                 "198.18.0.1",    "198.18.0.1:4191"};
}

discovery::Endpoint ep(const std::string& addr, std::map<std::string, std::string> labels) {
  discovery::Endpoint e;
  e.address = *net::SocketAddress::parse(addr);
  e.labels = std::move(labels);
  return e;
}

ServiceSpec service(std::string authority, std::vector<discovery::Endpoint> endpoints) {
  ServiceSpec s;
  s.authority = std::move(authority);
  s.endpoints = std::move(endpoints);
  return s;
}

struct Mesh {
  PodMap pods;
  std::vector<ServiceSpec> services;

  Mesh() {
    for (PodSpec p :
         {pod("default", "web-2", "deploy/web"), pod("default", "web-1", "deploy/web"),
          pod("default", "db-0", "statefulset/db"), pod("default", "api-1", "deploy/api"),
          pod("prod", "web-1", "deploy/web"), pod("prod", "lone", "pod/lone")}) {
      std::pair key{p.ns, p.name};
      pods.emplace(std::move(key), std::move(p));
    }
    // Endpoint labels as both backends write them: the mesh file often without a namespace
    // (any pod of that name), Kubernetes always with one.
    services.push_back(service("web.default.svc.cluster.local:8080",
                               {ep("198.18.0.1:8080", {{"pod", "web-1"}, {"namespace", "default"}}),
                                ep("198.18.0.2:8080", {{"pod", "web-2"}})}));
    services.push_back(
        service("web.default.svc.cluster.local:9090",
                {ep("198.18.0.1:9090", {{"pod", "web-1"}, {"namespace", "default"}})}));
    services.push_back(service("web.prod.svc.cluster.local:8080",
                               {ep("198.18.1.1:8080", {{"pod", "web-1"}, {"namespace", "prod"}})}));
    services.push_back(service("db:5432", {ep("198.18.0.3:5432", {{"pod", "db-0"}})}));
    services.push_back(service("api.default:80", {ep("198.18.0.4:80", {{"zone", "a"}})}));
    services.push_back(service("198.18.255.1:80", {ep("198.18.0.9:80", {{"pod", "ghost"}})}));
  }

  // "ns/name" of each pod selected, in the answer's order.
  std::vector<std::string> select(std::optional<std::string_view> t,
                                  std::optional<std::string_view> ns = {},
                                  std::string_view domain = "cluster.local") const {
    std::vector<const ServiceSpec*> all;
    for (const ServiceSpec& s : services) all.push_back(&s);
    std::vector<std::string> out;
    for (const PodMatch& m : select_pods(target(t, ns), pods, all, domain)) {
      out.push_back(m.pod->ns + "/" + m.pod->name);
    }
    return out;
  }
};

TEST_CASE("which pods a target means", "[destination][pods]") {
  Mesh mesh;
  using V = std::vector<std::string>;
  // By namespace, then name.
  CHECK(mesh.select({}) == V{"default/api-1", "default/db-0", "default/web-1", "default/web-2",
                             "prod/lone", "prod/web-1"});
  CHECK(mesh.select({}, "prod") == mesh.select({}));  // no target: every pod

  CHECK(mesh.select("deploy/web") == V{"default/web-1", "default/web-2"});
  CHECK(mesh.select("deploy/web", "prod") == V{"prod/web-1"});
  CHECK(mesh.select("deploy") == V{"default/api-1", "default/web-1", "default/web-2"});
  CHECK(mesh.select("deploy", "prod") == V{"prod/web-1"});  // not pod/lone
  CHECK(mesh.select("deploy/db").empty());                  // a StatefulSet's

  CHECK(mesh.select("pod/web-1") == V{"default/web-1"});
  CHECK(mesh.select("po/web-1", "prod") == V{"prod/web-1"});
  CHECK(mesh.select("pods", "prod") == V{"prod/lone", "prod/web-1"});
  CHECK(mesh.select("pod/nope").empty());

  CHECK(mesh.select("ns/prod", "default") == V{"prod/lone", "prod/web-1"});
  CHECK(mesh.select("ns") == mesh.select({}));
  CHECK(mesh.select("ns/empty").empty());

  // svc/web: every port of web.default...; web-2's endpoint names no namespace.
  CHECK(mesh.select("svc/web") == V{"default/web-1", "default/web-2"});
  CHECK(mesh.select("svc/web", "prod") == V{"prod/web-1"});
  // A short host (db:5432) is db in any namespace; its label names no namespace.
  CHECK(mesh.select("svc/db") == V{"default/db-0"});
  CHECK(mesh.select("svc/db", "prod") == V{"default/db-0"});
  // api.default's endpoint names no pod; the cluster domain must be the configured one.
  CHECK(mesh.select("svc/api").empty());
  CHECK(mesh.select("svc/web", "default", "example.org").empty());
  CHECK(mesh.select("svc") == V{"default/db-0", "default/web-1", "default/web-2"});
  CHECK(mesh.select("svc/nope").empty());
}

TEST_CASE("each pod's services come from the endpoints' labels", "[destination][pods]") {
  Mesh mesh;
  std::vector<const ServiceSpec*> all;
  for (auto it = mesh.services.rbegin(); it != mesh.services.rend(); ++it) all.push_back(&*it);
  auto matches = select_pods(target({}), mesh.pods, all, "cluster.local");
  std::map<std::string, std::vector<std::string>> services;
  for (const PodMatch& m : matches) services[m.pod->ns + "/" + m.pod->name] = m.services;
  using V = std::vector<std::string>;
  // Sorted, whatever order the services came in.
  CHECK(services["default/web-1"] ==
        V{"web.default.svc.cluster.local:8080", "web.default.svc.cluster.local:9090"});
  // Named without a namespace: the web-2 of any namespace.
  CHECK(services["default/web-2"] == V{"web.default.svc.cluster.local:8080"});
  CHECK(services["prod/web-1"] == V{"web.prod.svc.cluster.local:8080"});
  CHECK(services["default/db-0"] == V{"db:5432"});
  CHECK(services["default/api-1"].empty());
  CHECK(services["prod/lone"].empty());

  CHECK(to_json(*matches.front().pod, matches.front().services).dump() ==
        R"({"addr":"198.18.0.1","admin":"198.18.0.1:4191","identity":"","name":"api-1",)"
        R"("namespace":"default","service_account":"default","services":[],)"
        R"("workload":"deploy/api"})");
}

}  // namespace
}  // namespace lmesh::destination
