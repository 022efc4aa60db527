// The Store (src/destination/store.h) and its diffs (endpoint_diff.h), with recording sinks:
// the first line of a stream, the smallest update per change, profiles only when changed,
// aliases, a service's removal ending its streams, and followers that leave.
#include "destination/store.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "destination/endpoint_diff.h"

namespace lmesh::destination {
namespace {

using nlohmann::json;

// What a follower received; shared with the test, which keeps it after the store drops the sink.
struct Received {
  std::vector<json> lines;
  bool ended = false;
  bool destroyed = false;
};

class RecordingSink final : public StreamSink {
 public:
  explicit RecordingSink(std::shared_ptr<Received> into) : into_(std::move(into)) {}
  ~RecordingSink() override { into_->destroyed = true; }
  void send_line(std::string line) override {
    REQUIRE(!into_->ended);
    into_->lines.push_back(json::parse(line));
  }
  void end() override { into_->ended = true; }

 private:
  std::shared_ptr<Received> into_;
};

discovery::Endpoint ep(const std::string& addr, uint32_t weight = 1) {
  discovery::Endpoint e;
  e.address = *net::SocketAddress::parse(addr);
  e.weight = weight;
  return e;
}

ServiceSpec service(std::string authority, std::vector<discovery::Endpoint> endpoints,
                    std::vector<std::string> aliases = {}) {
  ServiceSpec s;
  s.authority = std::move(authority);
  s.endpoints = std::move(endpoints);
  s.aliases = std::move(aliases);
  return s;
}

discovery::Profile profile_with_timeout(uint32_t ms) {
  discovery::Profile p;
  discovery::Route r;
  r.name = "all";
  r.timeout_ms = ms;
  p.routes.push_back(r);
  return p;
}

struct Fixture {
  DestinationMetrics metrics;
  Store store{metrics};

  std::shared_ptr<Received> follow(StreamKind kind, const std::string& name,
                                   SubscriptionId* id_out = nullptr) {
    auto got = std::make_shared<Received>();
    auto id = store.subscribe(kind, name, std::make_unique<RecordingSink>(got));
    INFO((id ? std::string() : id.error().describe()));
    REQUIRE(id.has_value());
    if (id_out != nullptr) *id_out = *id;
    return got;
  }
  void set(ServiceSpec s) {
    auto ok = store.set_service(std::move(s));
    INFO((ok ? std::string() : ok.error().describe()));
    REQUIRE(ok.has_value());
  }
  void replace(std::vector<ServiceSpec> all) {
    auto ok = store.replace_all(std::move(all));
    INFO((ok ? std::string() : ok.error().describe()));
    REQUIRE(ok.has_value());
  }
  int64_t subscribers(StreamKind kind) { return metrics.subscribers(kind).value(); }
};

const json kNoEndpoints = {{"no_endpoints", true}};

TEST_CASE("diff_endpoints: adds and changes first, then removes", "[destination][diff]") {
  auto lines = diff_endpoints({ep("1.1.1.1:1"), ep("2.2.2.2:2"), ep("3.3.3.3:3")},
                              {ep("2.2.2.2:2", 5), ep("3.3.3.3:3"), ep("4.4.4.4:4")});
  REQUIRE(lines.size() == 2);
  CHECK(to_json(lines[0]) == json::parse(R"({"add":[
      {"addr":"2.2.2.2:2","weight":5,"protocol":"http1"},
      {"addr":"4.4.4.4:4","weight":1,"protocol":"http1"}]})"));
  CHECK(to_json(lines[1]) == json::parse(R"({"remove":["1.1.1.1:1"]})"));

  CHECK(diff_endpoints({ep("1.1.1.1:1")}, {ep("1.1.1.1:1")}).empty());
  CHECK(diff_endpoints({}, {}).empty());
  auto gone = diff_endpoints({ep("1.1.1.1:1")}, {});
  REQUIRE(gone.size() == 1);
  CHECK(to_json(gone[0]) == kNoEndpoints);
  auto back = diff_endpoints({}, {ep("1.1.1.1:1")});
  REQUIRE(back.size() == 1);
  CHECK(back[0].add.size() == 1);
  CHECK(to_json(initial_update({})) == kNoEndpoints);
}

TEST_CASE("a new follower gets the current state", "[destination][store]") {
  Fixture f;
  f.set(service("web:80", {ep("1.1.1.1:80"), ep("1.1.1.2:80")}));
  f.set(service("empty:80", {}));

  auto web = f.follow(StreamKind::kResolve, "web:80");
  REQUIRE(web->lines.size() == 1);
  CHECK(web->lines[0]["add"].size() == 2);
  CHECK(web->lines[0]["add"][0]["addr"] == "1.1.1.1:80");

  auto empty = f.follow(StreamKind::kResolve, "empty:80");
  CHECK(empty->lines == std::vector<json>{kNoEndpoints});

  // No profile: the default one.
  auto profile = f.follow(StreamKind::kProfile, "web:80");
  CHECK(profile->lines ==
        std::vector<json>{json::parse(
            R"({"routes":[],"retry_budget":{"ratio":0.2,"min_per_second":10,"ttl_s":10}})")});

  CHECK(f.subscribers(StreamKind::kResolve) == 2);
  CHECK(f.subscribers(StreamKind::kProfile) == 1);
  CHECK(f.metrics.render().find("destination_updates_total{kind=\"resolve\"} 2") !=
        std::string::npos);
}

TEST_CASE("an address given twice is one endpoint", "[destination][store]") {
  Fixture f;
  f.set(service("web:80", {ep("1.1.1.1:80", 1), ep("1.1.1.2:80"), ep("1.1.1.1:80", 7)}));
  auto r = f.follow(StreamKind::kResolve, "web:80");
  REQUIRE(r->lines[0]["add"].size() == 2);
  CHECK(r->lines[0]["add"][0]["weight"] == 1);
  CHECK(f.store.endpoint_count() == 2);
}

TEST_CASE("unknown, portless and differently cased names", "[destination][store]") {
  Fixture f;
  f.set(service("web.default.svc.cluster.local:80", {ep("1.1.1.1:80")}));
  CHECK(f.store.lookup("nope:80").error().code() == ErrorCode::kNotFound);
  CHECK(f.store.lookup("web.default.svc.cluster.local").error().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(*f.store.lookup("WEB.default.svc.cluster.local.:80") == "web.default.svc.cluster.local:80");
  auto got = std::make_shared<Received>();
  auto refused =
      f.store.subscribe(StreamKind::kResolve, "nope:80", std::make_unique<RecordingSink>(got));
  CHECK(!refused.has_value());
  CHECK(got->lines.empty());
  CHECK(got->destroyed);
  CHECK(f.store.subscriber_count() == 0);
}

TEST_CASE("changes reach followers as the smallest update", "[destination][store]") {
  Fixture f;
  f.set(service("web:80", {ep("1.1.1.1:80"), ep("1.1.1.2:80")}));
  auto r = f.follow(StreamKind::kResolve, "web:80");
  auto p = f.follow(StreamKind::kProfile, "web:80");
  REQUIRE(r->lines.size() == 1);
  REQUIRE(p->lines.size() == 1);

  SECTION("an added endpoint") {
    f.set(service("web:80", {ep("1.1.1.1:80"), ep("1.1.1.2:80"), ep("1.1.1.3:80")}));
    REQUIRE(r->lines.size() == 2);
    CHECK(r->lines[1] ==
          json::parse(R"({"add":[{"addr":"1.1.1.3:80","weight":1,"protocol":"http1"}]})"));
    CHECK(p->lines.size() == 1);  // the profile did not change: nothing
  }
  SECTION("a changed endpoint is added again") {
    f.set(service("web:80", {ep("1.1.1.1:80", 9), ep("1.1.1.2:80")}));
    REQUIRE(r->lines.size() == 2);
    CHECK(r->lines[1]["add"][0]["weight"] == 9);
  }
  SECTION("a removed endpoint") {
    f.set(service("web:80", {ep("1.1.1.2:80")}));
    REQUIRE(r->lines.size() == 2);
    CHECK(r->lines[1] == json::parse(R"({"remove":["1.1.1.1:80"]})"));
  }
  SECTION("the last endpoint gone, then one back") {
    f.set(service("web:80", {}));
    REQUIRE(r->lines.size() == 2);
    CHECK(r->lines[1] == kNoEndpoints);
    f.set(service("web:80", {ep("1.1.1.9:80")}));
    REQUIRE(r->lines.size() == 3);
    CHECK(r->lines[2]["add"][0]["addr"] == "1.1.1.9:80");
    CHECK(!r->ended);
  }
  SECTION("the same state again sends nothing") {
    f.set(service("web:80", {ep("1.1.1.1:80"), ep("1.1.1.2:80")}));
    CHECK(r->lines.size() == 1);
    CHECK(p->lines.size() == 1);
  }
  SECTION("a profile change sends the whole profile, once") {
    ServiceSpec s = service("web:80", {ep("1.1.1.1:80"), ep("1.1.1.2:80")});
    s.profile = profile_with_timeout(500);
    f.set(s);
    REQUIRE(p->lines.size() == 2);
    CHECK(p->lines[1]["routes"][0]["timeout_ms"] == 500);
    CHECK(r->lines.size() == 1);  // endpoints unchanged
    f.set(s);
    CHECK(p->lines.size() == 2);
    s.profile.reset();  // back to the default
    f.set(s);
    REQUIRE(p->lines.size() == 3);
    CHECK(p->lines[2]["routes"].empty());
  }
}

TEST_CASE("replace_all diffs the whole mesh", "[destination][store]") {
  Fixture f;
  f.replace({service("a:80", {ep("1.0.0.1:80")}), service("b:80", {ep("2.0.0.1:80")}),
             service("c:80", {ep("3.0.0.1:80")})});
  CHECK(f.store.service_count() == 3);
  CHECK(f.store.endpoint_count() == 3);
  auto a = f.follow(StreamKind::kResolve, "a:80");
  auto b = f.follow(StreamKind::kResolve, "b:80");
  auto b_profile = f.follow(StreamKind::kProfile, "b:80");
  auto c = f.follow(StreamKind::kResolve, "c:80");

  // a unchanged, b removed, c changed, d new.
  f.replace({service("a:80", {ep("1.0.0.1:80")}), service("c:80", {ep("3.0.0.2:80")}),
             service("d:80", {ep("4.0.0.1:80"), ep("4.0.0.2:80")})});
  CHECK(a->lines.size() == 1);
  CHECK(b->lines.back() == kNoEndpoints);
  CHECK(b->ended);
  CHECK(b->destroyed);
  CHECK(b_profile->lines.size() == 1);  // a profile stream just ends
  CHECK(b_profile->ended);
  REQUIRE(c->lines.size() == 3);
  CHECK(c->lines[1]["add"][0]["addr"] == "3.0.0.2:80");
  CHECK(c->lines[2]["remove"][0] == "3.0.0.1:80");
  CHECK(f.store.service_count() == 3);
  CHECK(f.store.endpoint_count() == 4);
  CHECK(f.subscribers(StreamKind::kResolve) == 2);
  CHECK(f.subscribers(StreamKind::kProfile) == 0);
  CHECK(f.store.lookup("b:80").error().code() == ErrorCode::kNotFound);

  // A refused snapshot changes nothing.
  auto bad = f.store.replace_all({service("a:80", {}), service("A:80", {})});
  CHECK(!bad.has_value());
  CHECK(f.store.service_count() == 3);
  CHECK(a->lines.size() == 1);
}

TEST_CASE("aliases name the same service", "[destination][store]") {
  Fixture f;
  f.set(service("web.default.svc.cluster.local:80", {ep("1.1.1.1:80")},
                {"web:80", "198.18.255.1:80"}));
  auto by_alias = f.follow(StreamKind::kResolve, "WEB:80");
  auto by_vip = f.follow(StreamKind::kResolve, "198.18.255.1:80");
  auto by_name = f.follow(StreamKind::kResolve, "web.default.svc.cluster.local:80");
  CHECK(*f.store.lookup("web:80") == "web.default.svc.cluster.local:80");

  f.set(service("web.default.svc.cluster.local:80", {ep("1.1.1.2:80")},
                {"web:80", "198.18.255.1:80"}));
  for (auto* got : {&by_alias, &by_vip, &by_name}) {
    REQUIRE((*got)->lines.size() == 3);
    CHECK((*got)->lines[1]["add"][0]["addr"] == "1.1.1.2:80");
  }

  // Another service may not take a name that is taken.
  CHECK(!f.store.set_service(service("other:80", {}, {"web:80"})).has_value());
  CHECK(!f.store.set_service(service("web:80", {})).has_value());
  CHECK(
      !f.store.set_service(service("x:80", {}, {"web.default.svc.cluster.local:80"})).has_value());

  // The VIP alias is dropped: who asked by it is ended, the others go on.
  f.set(service("web.default.svc.cluster.local:80", {ep("1.1.1.2:80")}, {"web:80"}));
  CHECK(by_vip->ended);
  CHECK(by_vip->lines.back() == kNoEndpoints);
  CHECK(!by_alias->ended);
  CHECK(!by_name->ended);
  CHECK(f.store.lookup("198.18.255.1:80").error().code() == ErrorCode::kNotFound);

  // An alias moves to another service in one snapshot: its followers are ended so they ask
  // again and find the new service.
  f.replace({service("web.default.svc.cluster.local:80", {ep("1.1.1.2:80")}),
             service("web-v2:80", {ep("2.2.2.2:80")}, {"web:80"})});
  CHECK(by_alias->ended);
  CHECK(!by_name->ended);
  CHECK(*f.store.lookup("web:80") == "web-v2:80");
}

TEST_CASE("followers that leave are forgotten", "[destination][store]") {
  Fixture f;
  f.set(service("web:80", {ep("1.1.1.1:80")}));
  std::vector<SubscriptionId> ids(3);
  auto one = f.follow(StreamKind::kResolve, "web:80", &ids[0]);
  auto two = f.follow(StreamKind::kResolve, "web:80", &ids[1]);
  auto prof = f.follow(StreamKind::kProfile, "web:80", &ids[2]);
  CHECK(f.store.subscriber_count() == 3);

  f.store.unsubscribe(ids[0]);
  CHECK(one->destroyed);
  CHECK(!one->ended);  // the client went; nothing more is written to it
  CHECK(f.subscribers(StreamKind::kResolve) == 1);
  f.store.unsubscribe(ids[0]);  // twice: harmless

  f.set(service("web:80", {ep("1.1.1.2:80")}));
  CHECK(one->lines.size() == 1);
  CHECK(two->lines.size() == 3);

  // A stream ended by its service's removal may still report its client gone: harmless.
  CHECK(f.store.remove_service("WEB:80"));
  CHECK(two->ended);
  CHECK(prof->ended);
  f.store.unsubscribe(ids[1]);
  f.store.unsubscribe(ids[2]);
  CHECK(f.store.subscriber_count() == 0);
  CHECK(f.subscribers(StreamKind::kResolve) == 0);
  CHECK(f.subscribers(StreamKind::kProfile) == 0);
  CHECK(!f.store.remove_service("web:80"));
}

TEST_CASE("many followers of many services", "[destination][store]") {
  Fixture f;
  std::vector<ServiceSpec> mesh;
  for (int s = 0; s < 1000; ++s) {
    std::vector<discovery::Endpoint> eps;
    for (int e = 0; e < 10; ++e) {
      eps.push_back(
          ep("10.0." + std::to_string(s % 250) + "." + std::to_string(e + 10 * (s / 250)) + ":80"));
    }
    mesh.push_back(service("svc-" + std::to_string(s) + ":80", std::move(eps)));
  }
  f.replace(mesh);
  CHECK(f.store.endpoint_count() == 10'000);
  std::vector<std::shared_ptr<Received>> followers;
  for (int i = 0; i < 1000; ++i)
    followers.push_back(f.follow(StreamKind::kResolve, "svc-" + std::to_string(i) + ":80"));
  for (ServiceSpec& s : mesh) s.endpoints[0].weight = 2;
  f.replace(mesh);
  for (auto& got : followers) {
    REQUIRE(got->lines.size() == 2);
    CHECK(got->lines[1]["add"].size() == 1);
  }
  CHECK(f.subscribers(StreamKind::kResolve) == 1000);
}

PodSpec pod_named(std::string ns, std::string name, std::string addr = "198.18.0.1") {
  PodSpec p;
  p.name = std::move(name);
  p.ns = std::move(ns);
  p.workload = default_workload(p.name);
  p.addr = std::move(addr);
  p.admin = admin_address(p.addr);
  return p;
}

int64_t pods_gauge(DestinationMetrics& m) {
  std::string text = m.render();
  size_t at = text.find("\ndestination_pods ");
  REQUIRE(at != std::string::npos);
  return std::stoll(text.substr(at + 18));
}

TEST_CASE("pods: replaced with the services, set and removed one by one",
          "[destination][store][pods]") {
  Fixture f;
  f.set(service("web:80", {ep("1.1.1.1:80")}));
  auto ok =
      f.store.replace_all({service("web:80", {ep("1.1.1.2:80")})},
                          {pod_named("b", "x-1"), pod_named("a", "y-1"), pod_named("a", "x-1")});
  REQUIRE(ok.has_value());
  std::vector<std::string> keys;
  for (const auto& [key, pod] : f.store.pods()) keys.push_back(key.first + "/" + key.second);
  CHECK(keys == std::vector<std::string>{"a/x-1", "a/y-1", "b/x-1"});
  CHECK(pods_gauge(f.metrics) == 3);
  CHECK(f.store.services().size() == 1);

  // A pod named twice in a namespace refuses the whole state: services and pods stay.
  auto bad = f.store.replace_all({}, {pod_named("a", "z-1"), pod_named("a", "z-1")});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message() == "pod z-1 is given twice in namespace a");
  CHECK(f.store.pods().size() == 3);
  CHECK(f.store.service_count() == 1);
  // So does a bad service, before any pod is touched.
  REQUIRE_FALSE(f.store.replace_all({service("web", {})}, {}).has_value());
  CHECK(f.store.pods().size() == 3);

  f.store.set_pod(pod_named("a", "x-1", "198.18.0.9"));
  CHECK(f.store.pods().at({"a", "x-1"}).admin == "198.18.0.9:4191");
  CHECK(f.store.remove_pod("b", "x-1"));
  CHECK_FALSE(f.store.remove_pod("b", "x-1"));
  CHECK(pods_gauge(f.metrics) == 2);
  // Services alone (replace_all without pods) leave the pods as they are.
  f.replace({});
  CHECK(f.store.pods().size() == 2);
  REQUIRE(f.store.replace_all({}, {}).has_value());
  CHECK(f.store.pods().empty());
  CHECK(pods_gauge(f.metrics) == 0);
}

}  // namespace
}  // namespace lmesh::destination
