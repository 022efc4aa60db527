// The wire types of the destination API (src/common/discovery/): Endpoint, ResolveUpdate and
// Profile survive to_json -> parse unchanged, and every refusal carries the JSON Pointer of the
// field at fault (the mesh file maps it back to a line).
#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include "common/discovery/endpoint.h"
#include "common/discovery/profile.h"

namespace lmesh::discovery {
namespace {

using nlohmann::json;

Endpoint endpoint(const char* addr) {
  Endpoint e;
  e.address = *net::SocketAddress::parse(addr);
  e.weight = 7;
  e.identity = "web.default.serviceaccount.identity.lmesh.cluster.local";
  e.protocol = ProtocolHint::kHttp2;
  e.labels = {{"pod", "web-1"}, {"zone", "a"}};
  e.inbound_port = 4143;
  return e;
}

FieldError profile_error(const json& j) {
  auto p = parse_profile(j);
  REQUIRE(!p.has_value());
  return p.error();
}

FieldError endpoint_error(const json& j) {
  auto e = parse_endpoint(j, "/add/0");
  REQUIRE(!e.has_value());
  return e.error();
}

TEST_CASE("an endpoint round-trips through JSON, defaults filled in", "[discovery]") {
  Endpoint e = endpoint("198.18.0.12:8080");
  auto back = parse_endpoint(to_json(e), "");
  REQUIRE(back.has_value());
  CHECK(*back == e);

  auto minimal = parse_endpoint(json{{"addr", "[::1]:80"}}, "");
  REQUIRE(minimal.has_value());
  CHECK(minimal->weight == 1);
  CHECK(minimal->protocol == ProtocolHint::kHttp1);
  CHECK(minimal->identity.empty());
  CHECK(to_json(*minimal) == json{{"addr", "[::1]:80"}, {"weight", 1}, {"protocol", "http1"}});
}

TEST_CASE("endpoint refusals name the field", "[discovery]") {
  auto zero = endpoint_error(json{{"addr", "1.2.3.4:80"}, {"weight", 0}});
  CHECK(zero.pointer == "/add/0/weight");
  CHECK(zero.message == "must be between 1 and 1000000");
  CHECK(endpoint_error(json{{"weight", 1}}).pointer == "/add/0/addr");
  CHECK(endpoint_error(json{{"addr", "web:80"}}).describe() ==
        "/add/0/addr: must be IP:port, got \"web:80\"");
  CHECK(endpoint_error(json{{"addr", "1.2.3.4:80"}, {"protocol", "h3"}}).pointer ==
        "/add/0/protocol");
  CHECK(endpoint_error(json{{"addr", "1.2.3.4:80"}, {"labels", {{"pod", 1}}}}).pointer ==
        "/add/0/labels/pod");
  auto unknown = endpoint_error(json{{"addr", "1.2.3.4:80"}, {"wieght", 2}});
  CHECK(unknown.pointer == "/add/0/wieght");
  CHECK(unknown.message == "unknown field");
  CHECK(endpoint_error(json{{"addr", "1.2.3.4:80"}, {"inbound_port", 0}}).pointer ==
        "/add/0/inbound_port");
}

TEST_CASE("resolve updates round-trip, one kind per line", "[discovery]") {
  ResolveUpdate add;
  add.add = {endpoint("198.18.0.12:8080"), endpoint("198.18.0.13:8080")};
  auto a = parse_resolve_line(to_json(add).dump());
  REQUIRE(a.has_value());
  CHECK(a->add == add.add);

  ResolveUpdate remove;
  remove.remove = {*net::SocketAddress::parse("198.18.0.12:8080")};
  CHECK(to_json(remove).dump() == R"({"remove":["198.18.0.12:8080"]})");
  auto r = parse_resolve_line(to_json(remove).dump());
  REQUIRE(r.has_value());
  CHECK(r->remove == remove.remove);

  ResolveUpdate none;
  none.no_endpoints = true;
  CHECK(to_json(none).dump() == R"({"no_endpoints":true})");
  auto n = parse_resolve_line(R"({"no_endpoints":true})");
  REQUIRE(n.has_value());
  CHECK(n->no_endpoints);

  CHECK(parse_resolve_line(R"({"add":[],"remove":[]})").error().message ==
        "must hold exactly one of add, remove, no_endpoints");
  CHECK(parse_resolve_line(R"({"remove":["web:80"]})").error().pointer == "/remove/0");
  CHECK(parse_resolve_line(R"({"add":[{"addr":"1.2.3.4:1","weight":0}]})").error().pointer ==
        "/add/0/weight");
  CHECK(parse_resolve_line("{not json").error().pointer == "");
}

TEST_CASE("a profile round-trips through JSON", "[discovery]") {
  json j = R"({
    "routes": [
      {"name": "GET /users", "method": "GET", "path_regex": "/users/.*", "retryable": true,
       "timeout_ms": 500,
       "headers": [{"name": "X-Canary", "value": "1"}, {"name": "x-user", "regex": "a.*"}],
       "response_classes": [{"status": {"min": 500, "max": 504}, "failure": true}],
       "backends": [{"authority": "web-v2:8080", "weight": 1}],
       "fault": {"delay": {"percent": 10, "ms": 20}, "abort": {"percent": 5, "status": 503}},
       "mirror": {"authority": "shadow:8080", "percent": 50}},
      {"name": "everything else"}
    ],
    "retry_budget": {"ratio": 0.5, "min_per_second": 3, "ttl_s": 20},
    "backends": [{"authority": "web:8080", "weight": 90}, {"authority": "web-v2:8080", "weight": 10}]
  })"_json;
  auto p = parse_profile(j);
  REQUIRE(p.has_value());
  REQUIRE(p->routes.size() == 2);
  CHECK(p->routes[0].headers[0].name == "x-canary");  // header names are lowercased
  CHECK(p->retry_budget.ttl_s == 20);
  json out = to_json(*p);
  auto again = parse_profile(out);
  REQUIRE(again.has_value());
  CHECK(to_json(*again) == out);  // a fixed point: what the service sends parses to itself
  CHECK(out["routes"][0]["headers"][0]["name"] == "x-canary");
  CHECK(out["backends"][1]["weight"] == 10);

  // Nothing given: no routes and the default budget (what a service without a profile gets).
  CHECK(to_json(*parse_profile(json::object())) ==
        R"({"routes":[],"retry_budget":{"ratio":0.2,"min_per_second":10,"ttl_s":10}})"_json);
}

TEST_CASE("profile refusals carry the JSON pointer of the field", "[discovery]") {
  auto regex = profile_error(R"({"routes":[{"name":"r","path_regex":"/users/(["}]})"_json);
  CHECK(regex.pointer == "/routes/0/path_regex");
  CHECK(regex.message.starts_with("is not a valid regular expression"));

  auto unknown = profile_error(R"({"routes":[{"name":"r","timeout_sm":5}]})"_json);
  CHECK(unknown.pointer == "/routes/0/timeout_sm");
  CHECK(unknown.message == "unknown field");

  auto quoted = profile_error(R"({"routes":[{"name":"r","timeout_ms":"500"}]})"_json);
  CHECK(quoted.describe() == "/routes/0/timeout_ms: must be a whole number");

  auto drained = profile_error(
      R"({"backends":[{"authority":"a:1","weight":0},{"authority":"b:1","weight":0}]})"_json);
  CHECK(drained.pointer == "/backends");
  CHECK(drained.message == "needs at least one backend with a weight above 0");
  // One drained backend beside a live one is a blue-green switch-over: allowed.
  CHECK(parse_profile(
            R"({"backends":[{"authority":"a:1","weight":0},{"authority":"b:1","weight":1}]})"_json)
            .has_value());

  CHECK(profile_error(R"({"retry_budget":{"ttl_s":0}})"_json).pointer == "/retry_budget/ttl_s");
  CHECK(profile_error(R"({"routes":[{"method":"GET"}]})"_json).pointer == "/routes/0/name");
  CHECK(profile_error(R"({"routes":[{"name":"r","headers":[{"name":"a"}]}]})"_json).pointer ==
        "/routes/0/headers/0");
  CHECK(
      profile_error(R"({"routes":[{"name":"r","fault":{"delay":{"percent":10}}}]})"_json).pointer ==
      "/routes/0/fault/delay/ms");
  CHECK(
      profile_error(
          R"({"routes":[{"name":"r","response_classes":[{"status":{"min":504,"max":500}}]}]})"_json)
          .pointer == "/routes/0/response_classes/0/status");

  // Inside a larger document, pointers are prefixed with where the profile sits.
  auto nested = parse_profile(R"({"routes":[{"name":"r","timeout_ms":-1}]})"_json,
                              "/services/web:8080/profile");
  REQUIRE(!nested.has_value());
  CHECK(nested.error().pointer == "/services/web:8080/profile/routes/0/timeout_ms");
}

TEST_CASE("pointers escape '/' and '~' in keys (RFC 6901)", "[discovery]") {
  auto e = parse_endpoint(R"({"addr":"1.2.3.4:80","labels":{"a/b~c":1}})"_json, "");
  REQUIRE(!e.has_value());
  CHECK(e.error().pointer == "/labels/a~1b~0c");
}

}  // namespace
}  // namespace lmesh::discovery
