#include "cli/up/mesh_plan.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>

using namespace lmesh::up;

namespace {

MeshSpec books() {
  auto spec = parse_mesh_spec(
      "workloads:\n"
      "  - {name: web, command: [w], ports: [{port: 8080}]}\n"
      "  - {name: ratings-v1, replicas: 2, command: [r], ports: [{port: 8080}],\n"
      "     services: [ratings, ratings-v1]}\n"
      "  - {name: stock, namespace: shop, command: [s], ports: [{port: 7070, protocol: opaque}]}\n"
      "  - {name: traffic, command: [t], ports: [], services: []}\n"
      "services:\n"
      "  ratings:\n"
      "    profile: {backends: [{authority: \"ratings-v1.default.svc.cluster.local:8080\", "
      "weight: 1}]}\n",
      "mesh.yaml", "/demo");
  REQUIRE(spec.has_value());
  return *spec;
}

bool has(const std::vector<std::string>& args, const std::string& flag, const std::string& value) {
  auto it = std::ranges::find(args, flag);
  return it != args.end() && std::next(it) != args.end() && *std::next(it) == value;
}

}  // namespace

TEST_CASE("services come from the workloads behind them, with stable virtual IPs", "[up]") {
  MeshSpec spec = books();
  std::map<ServiceKey, uint32_t> vips;
  auto services = plan_services(spec, vips);
  REQUIRE(services.has_value());
  REQUIRE(services->size() == 4);  // ratings, ratings-v1, web (default), stock (shop)
  auto ratings =
      std::ranges::find(*services, "ratings", [](const ServicePlan& s) { return s.key.name; });
  REQUIRE(ratings != services->end());
  CHECK_FALSE(ratings->profile.is_null());

  // A later plan keeps every VIP given out and gives a new service the lowest free one.
  auto before = vips;
  spec.workloads.push_back(spec.workloads[0]);
  spec.workloads.back().name = "api";
  spec.workloads.back().services = {"api"};
  auto again = plan_services(spec, vips);
  REQUIRE(again.has_value());
  for (const auto& [key, index] : before) CHECK(vips.at(key) == index);
  CHECK(vips.at(ServiceKey{"api", "default"}) == 4);
}

TEST_CASE("a policy for a service nothing is behind is refused", "[up]") {
  MeshSpec spec = books();
  spec.services.push_back(ServicePolicy{"nothing", "default", nullptr});
  std::map<ServiceKey, uint32_t> vips;
  auto services = plan_services(spec, vips);
  REQUIRE_FALSE(services.has_value());
  CHECK(services.error().message().find("services/nothing.default") != std::string::npos);
}

TEST_CASE("pods get their addresses and names from their slot", "[up]") {
  MeshSpec spec = books();
  PodPlan netns = plan_pod(NetworkMode::kNetns, spec, 1, 1, 7);
  CHECK(netns.name == "ratings-v1-1");
  CHECK(netns.workload == "deploy/ratings-v1");
  CHECK(netns.ip == "198.18.0.8");
  CHECK(netns.netns == "lmesh-7");
  CHECK(netns.host_veth == "lmh7");
  CHECK(netns.admin == "198.18.0.8:4191");
  CHECK(netns.identity == "ratings-v1.default.serviceaccount.identity.lmesh.cluster.local");
  PodPlan loopback = plan_pod(NetworkMode::kLoopback, spec, 0, 0, 300);
  CHECK(loopback.ip == "127.18.1.45");
  CHECK(loopback.netns.empty());
}

TEST_CASE("proxies listen where their mode needs them", "[up]") {
  MeshSpec spec = books();
  std::map<ServiceKey, uint32_t> vips;
  auto services = plan_services(spec, vips);
  REQUIRE(services.has_value());
  ControlPlane control{"198.18.0.1:8080", "198.18.0.1:8086", "/s/ca/ca.crt", "/s/tokens.d"};
  PodPlan pod = plan_pod(NetworkMode::kNetns, spec, 0, 0, 1);
  auto args = proxy_args(NetworkMode::kNetns, spec, *services, pod, control);
  CHECK(has(args, "--outbound-listen", "127.0.0.1:4140"));
  CHECK(has(args, "--inbound-listen", "0.0.0.0:4143"));
  CHECK(has(args, "--identity-name", pod.identity));
  CHECK(has(args, "--identity-token-file", "/s/tokens.d/default.web-0"));
  CHECK(has(args, "--opaque-ports", "25,587,3306,4444,5432,6379,7070,9300,11211"));
  CHECK(std::ranges::find(args, "--inbound-forward") == args.end());

  PodPlan lo = plan_pod(NetworkMode::kLoopback, spec, 0, 0, 1);
  auto lo_args = proxy_args(NetworkMode::kLoopback, spec, *services, lo, control);
  CHECK(has(lo_args, "--inbound-listen", "127.18.0.2:4143"));
  CHECK(has(lo_args, "--inbound-forward", "127.18.0.2:8080"));
  // stock (shop) is opaque: reached through a listener of the pod's own proxy.
  uint32_t stock = vips.at(ServiceKey{"stock", "shop"});
  std::string listen = "127.18.0.2:15000";  // the pod's first free port from 15000
  CHECK(has(lo_args, "--outbound-service-listen", listen + "=" + service_vip(stock) + ":7070"));
  auto env = app_env(NetworkMode::kLoopback, spec, *services, lo);
  CHECK(env.at("LMESH_OUTBOUND_STOCK_SHOP") == listen);
  CHECK(env.at("LMESH_OUTBOUND_STOCK_SHOP_7070") == listen);
  CHECK(std::ranges::find(args, "--outbound-service-listen") == args.end());  // netns
}

TEST_CASE("apps learn their address, their proxy and the services", "[up]") {
  MeshSpec spec = books();
  std::map<ServiceKey, uint32_t> vips;
  auto services = plan_services(spec, vips);
  REQUIRE(services.has_value());
  PodPlan pod = plan_pod(NetworkMode::kLoopback, spec, 0, 0, 1);
  auto env = app_env(NetworkMode::kLoopback, spec, *services, pod);
  CHECK(env.at("LMESH_LISTEN_HOST") == "127.18.0.2");
  CHECK(env.at("LMESH_OUTBOUND") == "127.18.0.2:4140");
  CHECK(env.at("LMESH_SERVICE_RATINGS_V1") == "ratings-v1.default.svc.cluster.local:8080");
  CHECK(env.at("LMESH_SERVICE_STOCK_SHOP") == "stock.shop.svc.cluster.local:7070");
  CHECK_FALSE(env.contains("LMESH_SERVICE_STOCK"));  // another namespace: full name only
  auto netns = app_env(NetworkMode::kNetns, spec, *services, pod);
  CHECK(netns.at("LMESH_OUTBOUND").empty());
  CHECK(netns.at("LMESH_LISTEN_HOST") == "0.0.0.0");

  auto hosts = hosts_entries(*services, "default");
  auto stock = std::ranges::find(hosts, "stock.shop.svc.cluster.local",
                                 [](const lmesh::host::HostsEntry& e) { return e.names[0]; });
  REQUIRE(stock != hosts.end());
  CHECK(std::ranges::find(stock->names, "stock") == stock->names.end());
}

TEST_CASE("the destination's mesh file lists ready pods as endpoints", "[up]") {
  MeshSpec spec = books();
  std::map<ServiceKey, uint32_t> vips;
  auto services = plan_services(spec, vips);
  REQUIRE(services.has_value());
  std::vector<PodPlan> pods = {plan_pod(NetworkMode::kNetns, spec, 1, 0, 1),
                               plan_pod(NetworkMode::kNetns, spec, 1, 1, 2),
                               plan_pod(NetworkMode::kNetns, spec, 2, 0, 3)};
  auto mesh = destination_mesh(NetworkMode::kNetns, spec, *services, pods,
                               {"default/ratings-v1-0", "shop/stock-0"});
  const auto& ratings = mesh["services"]["ratings.default.svc.cluster.local:8080"];
  REQUIRE(ratings["endpoints"].size() == 1);  // ratings-v1-1 is not ready
  CHECK(ratings["endpoints"][0]["addr"] == "198.18.0.2:8080");
  CHECK(ratings["endpoints"][0]["labels"]["pod"] == "ratings-v1-0");
  CHECK(ratings.contains("profile"));
  CHECK(ratings["aliases"].size() == 4);  // full, .ns, .ns.svc, VIP, short name
  const auto& stock = mesh["services"]["stock.shop.svc.cluster.local:7070"];
  CHECK(stock["endpoints"][0]["protocol"] == "opaque");
  CHECK(stock["endpoints"][0]["inbound_port"] == 4143);  // opaque transport
  CHECK(mesh["pods"].size() == 3);
  CHECK(mesh["pods"][2]["admin"] == "198.18.0.4:4191");
}

TEST_CASE("in loopback mode every port of a workload has its own inbound listener", "[up]") {
  // api serves HTTP/1 on 8080, gRPC on 9090 and opaque TCP on 14301 (in the listeners' range:
  // skipped); api-lite is behind the same service without 9090.
  auto spec = parse_mesh_spec(
      "workloads:\n"
      "  - {name: api, command: [a], services: [api], ports: [{port: 8080}, "
      "{port: 9090, protocol: http2}, {port: 14301, protocol: opaque}]}\n"
      "  - {name: api-lite, command: [b], services: [api], ports: [{port: 8080}]}\n",
      "mesh.yaml", "/demo");
  REQUIRE(spec.has_value());
  CHECK(loopback_inbound_ports(spec->workloads[0]) == std::vector<uint16_t>{4143, 14302, 14303});
  CHECK(loopback_inbound_ports(spec->workloads[1]) == std::vector<uint16_t>{4143});
  std::map<ServiceKey, uint32_t> vips;
  auto services = plan_services(*spec, vips);
  REQUIRE(services.has_value());
  ControlPlane control{"127.0.0.1:8080", "127.0.0.1:8086", "/s/ca/ca.crt", "/s/tokens.d"};
  std::vector<PodPlan> pods = {plan_pod(NetworkMode::kLoopback, *spec, 0, 0, 1),
                               plan_pod(NetworkMode::kLoopback, *spec, 1, 0, 2)};
  auto args = proxy_args(NetworkMode::kLoopback, *spec, *services, pods[0], control);
  CHECK(has(args, "--inbound-forward", "127.18.0.2:8080"));
  CHECK(has(args, "--inbound-forward-listen",
            "127.18.0.2:14302=127.18.0.2:9090,127.18.0.2:14303=127.18.0.2:14301"));
  auto lite_args = proxy_args(NetworkMode::kLoopback, *spec, *services, pods[1], control);
  CHECK(std::ranges::find(lite_args, "--inbound-forward-listen") == lite_args.end());
  auto netns_args = proxy_args(NetworkMode::kNetns, *spec, *services, pods[0], control);
  CHECK(std::ranges::find(netns_args, "--inbound-forward-listen") == netns_args.end());
  // Pods share loopback: each proxy calls out from its own pod's address.
  CHECK(has(args, "--outbound-bind", "127.18.0.2"));
  CHECK(has(lite_args, "--outbound-bind", "127.18.0.3"));
  CHECK(std::ranges::find(netns_args, "--outbound-bind") == netns_args.end());

  auto mesh = destination_mesh(NetworkMode::kLoopback, *spec, *services, pods,
                               {"default/api-0", "default/api-lite-0"});
  const auto& http = mesh["services"]["api.default.svc.cluster.local:8080"]["endpoints"];
  REQUIRE(http.size() == 2);
  CHECK(http[0]["addr"] == "127.18.0.2:4143");
  CHECK(http[1]["addr"] == "127.18.0.3:4143");
  const auto& grpc = mesh["services"]["api.default.svc.cluster.local:9090"]["endpoints"];
  REQUIRE(grpc.size() == 1);  // api-lite does not serve 9090
  CHECK(grpc[0]["addr"] == "127.18.0.2:14302");
  CHECK(grpc[0]["protocol"] == "http2");
  const auto& opaque = mesh["services"]["api.default.svc.cluster.local:14301"]["endpoints"];
  REQUIRE(opaque.size() == 1);
  CHECK(opaque[0]["addr"] == "127.18.0.2:14303");
  CHECK_FALSE(opaque[0].contains("inbound_port"));  // the listener already says which port
}

TEST_CASE("in loopback mode opaque listeners skip the ports the pod already uses", "[up]") {
  // client's app listens on 15000 and 15001; two opaque services with two ports between them.
  auto spec = parse_mesh_spec(
      "workloads:\n"
      "  - {name: client, command: [a], ports: [{port: 15000}, {port: 15001}]}\n"
      "  - {name: cache, command: [b], services: [cache], ports: [{port: 6379, protocol: "
      "opaque}, {port: 16379, protocol: opaque}]}\n"
      "  - {name: db, command: [c], services: [db], ports: [{port: 5432, protocol: opaque}]}\n",
      "mesh.yaml", "/demo");
  REQUIRE(spec.has_value());
  std::map<ServiceKey, uint32_t> vips;
  auto services = plan_services(*spec, vips);
  REQUIRE(services.has_value());
  PodPlan client = plan_pod(NetworkMode::kLoopback, *spec, 0, 0, 1);
  auto listeners = opaque_listeners(NetworkMode::kLoopback, *spec, *services, client);
  REQUIRE(listeners.size() == 3);
  std::set<std::string> ports;
  for (const OpaqueListener& l : listeners) ports.insert(l.listen);
  // 15000 and 15001 are the app's (the proxy's own second inbound listener is 14301), so the
  // listeners start at 15002.
  CHECK(loopback_inbound_ports(spec->workloads[0]) == std::vector<uint16_t>{4143, 14301});
  CHECK(ports == std::set<std::string>{"127.18.0.2:15002", "127.18.0.2:15003", "127.18.0.2:15004"});
  auto env = app_env(NetworkMode::kLoopback, *spec, *services, client);
  CHECK(env.at("LMESH_OUTBOUND_CACHE") == env.at("LMESH_OUTBOUND_CACHE_6379"));
  CHECK(env.at("LMESH_OUTBOUND_CACHE_16379") != env.at("LMESH_OUTBOUND_CACHE_6379"));
  CHECK(env.contains("LMESH_OUTBOUND_DB_5432"));
  // In netns mode iptables intercepts: no listeners.
  CHECK(opaque_listeners(NetworkMode::kNetns, *spec, *services, client).empty());
}
