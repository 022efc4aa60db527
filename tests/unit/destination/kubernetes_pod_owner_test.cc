// Kubernetes pods as GET /v1/pods gives them (src/destination/kubernetes/pod_owner.h,
// translate.h pod_spec(), cluster_state.h): the workload from the owner references, the IP
// and admin address from the status, the identity as endpoints carry it; and which pod events
// change a pod's record without touching any Service.
#include "destination/kubernetes/pod_owner.h"

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "destination/kubernetes/cluster_state.h"
#include "destination/kubernetes/objects.h"
#include "destination/kubernetes/translate.h"

namespace lmesh::destination::kubernetes {
namespace {

using nlohmann::json;

constexpr const char* kWebId = "web.default.serviceaccount.identity.lmesh.cluster.local";

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

TEST_CASE("workloads from owners", "[kubernetes][pods]") {
  // A Deployment's ReplicaSet: its name minus the pod-template-hash.
  CHECK(workload_of({"ReplicaSet", "web-7d9c8b6f5"}, "web-7d9c8b6f5-x2x7q", "7d9c8b6f5") ==
        "deploy/web");
  CHECK(workload_of({"ReplicaSet", "my-web-app-5d8f9c"}, "p", "5d8f9c") == "deploy/my-web-app");
  // Without the label (or with one the name does not end with): minus the last -suffix.
  CHECK(workload_of({"ReplicaSet", "web-5d8f9c"}, "p", "") == "deploy/web");
  CHECK(workload_of({"ReplicaSet", "web-v2-5d8f9c"}, "p", "other") == "deploy/web-v2");
  CHECK(workload_of({"ReplicaSet", "web"}, "p", "") == "deploy/web");
  CHECK(workload_of({"StatefulSet", "db"}, "db-0", "") == "statefulset/db");
  CHECK(workload_of({"DaemonSet", "agent"}, "agent-x", "") == "daemonset/agent");
  CHECK(workload_of({"Job", "migrate-1"}, "migrate-1-abc", "") == "job/migrate-1");
  CHECK(workload_of({}, "lone", "") == "pod/lone");
}

TEST_CASE("Pods: IP, owner and the controller reference", "[kubernetes][pods]") {
  auto web = parse_pod(item("pods.json", "web-7d9c8b6f5-x2x7q"));
  REQUIRE(web.has_value());
  CHECK(web->ip == "10.244.1.5");
  CHECK(web->workload == "deploy/web");
  auto db = parse_pod(item("pods.json", "db-0"));
  REQUIRE(db.has_value());
  CHECK(db->workload == "statefulset/db");

  json pod = item("pods.json", "web-7d9c8b6f5-x2x7q");
  // The controller wins over an owner listed before it.
  pod["metadata"]["ownerReferences"].insert(pod["metadata"]["ownerReferences"].begin(),
                                            json{{"kind", "ConfigMap"}, {"name", "cfg"}});
  CHECK(parse_pod(pod)->workload == "deploy/web");
  pod["metadata"]["ownerReferences"][1]["controller"] = false;  // no controller: the first
  CHECK(parse_pod(pod)->workload == "configmap/cfg");
  pod["metadata"].erase("ownerReferences");
  CHECK(parse_pod(pod)->workload == "pod/web-7d9c8b6f5-x2x7q");
  pod["status"].erase("podIP");  // pending
  CHECK(parse_pod(pod)->ip.empty());

  pod["status"]["podIP"] = "10.244.1";
  CHECK(parse_pod(pod).error().describe() == "/status/podIP: must be an IP address");
  pod["status"]["podIP"] = "fd00::5";
  pod["metadata"]["ownerReferences"] = json{{{"kind", 3}}};
  CHECK(parse_pod(pod).error().describe() == "/metadata/ownerReferences/0/kind: must be a string");
  pod["metadata"]["ownerReferences"] = "x";
  CHECK(parse_pod(pod).error().describe() == "/metadata/ownerReferences: must be an array");
}

TEST_CASE("pod records", "[kubernetes][pods]") {
  auto web = parse_pod(item("pods.json", "web-7d9c8b6f5-x2x7q"));
  REQUIRE(web.has_value());
  CHECK(pod_spec(*web) == PodSpec{"web-7d9c8b6f5-x2x7q", "default", "deploy/web", "web", kWebId,
                                  "10.244.1.5", "10.244.1.5:4191"});
  web->ip = "fd00::0005";
  CHECK(pod_spec(*web).admin == "[fd00::5]:4191");
  web->ip.clear();
  CHECK(pod_spec(*web).addr.empty());
  CHECK(pod_spec(*web).admin.empty());
  auto db = parse_pod(item("pods.json", "db-0"));
  CHECK(pod_spec(*db).identity == "default.default.serviceaccount.identity.lmesh.cluster.local");
}

TEST_CASE("pod events and the pods known", "[kubernetes][pods]") {
  ClusterState state("cluster.local");
  REQUIRE(state.replace(Kind::kServices, items("services.json")).empty());
  REQUIRE(state.replace(Kind::kEndpointSlices, items("endpointslices.json")).empty());
  REQUIRE(state.replace(Kind::kPods, items("pods.json")).empty());
  // Meshed pods only: the unmeshed web replica is not one.
  auto names = [&] {
    std::set<std::string> out;
    for (const PodSpec& p : state.pod_specs()) out.insert(p.ns + "/" + p.name);
    return out;
  };
  CHECK(names() == std::set<std::string>{"default/db-0", "default/web-7d9c8b6f5-x2x7q"});

  // A new IP: the pod's record changes, no Service does.
  json pod = item("pods.json", "web-7d9c8b6f5-x2x7q");
  pod["status"]["podIP"] = "10.244.1.99";
  auto o = state.apply(Kind::kPods, EventType::kModified, pod);
  REQUIRE(o.pod);
  CHECK(o.pod->key() == "default/web-7d9c8b6f5-x2x7q");
  CHECK(o.affected.empty());
  CHECK(state.pod_spec_of("default/web-7d9c8b6f5-x2x7q")->admin == "10.244.1.99:4191");
  // Nothing of the record or of identities: nothing at all.
  pod["status"]["phase"] = "Succeeded";
  o = state.apply(Kind::kPods, EventType::kModified, pod);
  CHECK_FALSE(o.pod);
  CHECK(o.affected.empty());
  // A new ServiceAccount: the record and the Service whose slice points at the pod.
  pod["spec"]["serviceAccountName"] = "web-v2";
  o = state.apply(Kind::kPods, EventType::kModified, pod);
  REQUIRE(o.pod);
  CHECK(o.affected == std::vector<std::string>{"default/web"});
  // Unmeshed, then deleted: gone from the pods known.
  pod["metadata"]["labels"].erase("lmesh.io/control-plane-ns");
  o = state.apply(Kind::kPods, EventType::kModified, pod);
  REQUIRE(o.pod);
  CHECK_FALSE(state.pod_spec_of("default/web-7d9c8b6f5-x2x7q"));
  o = state.apply(Kind::kPods, EventType::kDeleted, item("pods.json", "db-0"));
  REQUIRE(o.pod);
  CHECK(o.pod->name == "db-0");
  CHECK(names().empty());
}

}  // namespace
}  // namespace lmesh::destination::kubernetes
