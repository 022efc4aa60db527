// The proxy's side of discovery: the DiscoveryHub following a destination service (an
// in-process api::Server speaking the real /v1/resolve and /v1/profile streams), the worker's
// DiscoveryCache, and the authority a request is looked up by.
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>
#include <catch2/catch.hpp>

#include "common/api/server.h"
#include "common/event/timer.h"
#include "proxy/config.h"
#include "proxy/discovery/discovery_cache.h"
#include "proxy/discovery/discovery_hub.h"
#include "proxy/discovery/endpoint_identities.h"
#include "proxy/request_router.h"

namespace lmesh::proxy {
namespace {

using namespace std::chrono_literals;
using Snapshots = std::vector<std::shared_ptr<const ServiceSnapshot>>;

// A destination service stand-in on the test's loop: it answers the real wire API with the
// streams the test feeds it.
struct FakeDestination {
  event::Worker& w;
  api::Server server{w};
  std::vector<std::shared_ptr<api::Response>> resolve_streams;
  std::vector<std::shared_ptr<api::Response>> profile_streams;
  std::vector<std::string> resolve_queries;
  nlohmann::json first_resolve = {{"add", nlohmann::json::array()}};
  nlohmann::json profile = nlohmann::json::object();

  explicit FakeDestination(event::Worker& worker) : w(worker) {
    server.route("GET", "/v1/resolve", [this](const api::Request& req, auto r) {
      std::string authority(req.param("authority").value_or(""));
      resolve_queries.push_back(authority);
      if (authority.starts_with("unknown")) {
        r->error(404, "unknown authority", authority);
        return;
      }
      r->begin_json_stream();
      r->send_event(first_resolve);
      resolve_streams.push_back(r);
    });
    server.route("GET", "/v1/profile", [this](const api::Request& req, auto r) {
      if (std::string(req.param("authority").value_or("")).starts_with("unknown")) {
        r->error(404, "unknown authority", "");
        return;
      }
      r->begin_json_stream();
      r->send_event(profile);
      profile_streams.push_back(r);
    });
  }
  net::SocketAddress listen() { return *server.listen(*net::SocketAddress::parse("127.0.0.1:0")); }
  void send_resolve(const nlohmann::json& event) {
    for (auto& r : resolve_streams) r->send_event(event);
  }
  // The destination service goes away: every stream ends.
  void end_streams() {
    for (auto& r : resolve_streams) r->end_stream();
    for (auto& r : profile_streams) r->end_stream();
    resolve_streams.clear();
    profile_streams.clear();
  }
};

api::ClientOptions fast_options() {
  api::ClientOptions o;
  o.connect_timeout = 500ms;
  o.request_timeout = 500ms;
  o.backoff_min = 10ms;
  o.backoff_max = 20ms;
  return o;
}

nlohmann::json endpoint(const std::string& addr, const std::string& identity = "") {
  nlohmann::json e = {{"addr", addr}, {"weight", 1}, {"protocol", "http1"}};
  if (!identity.empty()) e["identity"] = identity;
  return e;
}

std::vector<std::string> addresses(const ServiceSnapshot& s) {
  std::vector<std::string> out;
  for (const auto& e : s.endpoints) out.push_back(e.address.to_string());
  return out;
}

// Ends the test's loop: run() returns once every handle is closed (it asserts none leaked).
void finish(event::Worker& w) {
  w.stop();
  w.run();
}

// Runs `w` until `done()` holds after a published snapshot or a 3 s watchdog fires.
struct Runner {
  event::Worker& w;
  event::Timer watchdog{w.loop(), [this] { timed_out = true; }};
  bool timed_out = false;
  template <class Pred>
  bool until(Pred done) {
    watchdog.arm(3s);
    while (!done() && !timed_out) uv_run(w.loop(), UV_RUN_ONCE);
    watchdog.disarm();
    return !timed_out;
  }
};

TEST_CASE("the hub follows an authority: the first answer, then adds and removes",
          "[proxy][discovery]") {
  event::Worker w(0);
  FakeDestination dst(w);
  dst.first_resolve = {{"add", {endpoint("127.0.0.1:9001"), endpoint("127.0.0.1:9002", "a.b")}}};
  dst.profile = {{"routes", {{{"name", "users"}, {"path_regex", "/users/.*"}}}}};
  Snapshots published;
  {
    DiscoveryHub hub(w, dst.listen(), fast_options(),
                     [&](auto s) { published.push_back(std::move(s)); });
    hub.subscribe("web.ns.svc.cluster.local:8080");
    Runner run{w};
    REQUIRE(run.until([&] { return dst.profile_streams.size() == 1 && !published.empty(); }));
    CHECK(dst.resolve_queries == std::vector<std::string>{"web.ns.svc.cluster.local:8080"});
    const ServiceSnapshot& first = *published.back();
    CHECK(first.state == ServiceSnapshot::State::kResolved);
    CHECK(addresses(first) == std::vector<std::string>{"127.0.0.1:9001", "127.0.0.1:9002"});
    CHECK(first.endpoints[1].identity == "a.b");

    // The profile arrives on its own stream and is published with the endpoints.
    REQUIRE(run.until([&] { return !published.back()->profile->routes.empty(); }));
    CHECK(published.back()->profile->routes[0].name == "users");

    dst.send_resolve({{"add", {endpoint("127.0.0.1:9003")}}});
    REQUIRE(run.until([&] { return published.back()->endpoints.size() == 3; }));
    dst.send_resolve({{"remove", {"127.0.0.1:9001"}}});
    REQUIRE(run.until([&] { return published.back()->endpoints.size() == 2; }));
    CHECK(addresses(*published.back()) ==
          std::vector<std::string>{"127.0.0.1:9002", "127.0.0.1:9003"});
    // A line that does not parse is dropped; the stream and the known endpoints stay.
    dst.send_resolve({{"add", {{{"addr", "not-an-address"}}}}});
    dst.send_resolve({{"no_endpoints", true}});
    REQUIRE(run.until([&] { return published.back()->endpoints.empty(); }));
    CHECK(published.back()->state == ServiceSnapshot::State::kResolved);

    metrics::Snapshot m;
    hub.append_metrics(m);
    CHECK(m.find("discovery_errors_total")->find({"bad_update"})->value == 1);
  }
  dst.end_streams();
  dst.server.close();
  finish(w);
}

TEST_CASE("the hub keeps the last endpoints while the destination service is away",
          "[proxy][discovery]") {
  event::Worker w(0);
  FakeDestination dst(w);
  dst.first_resolve = {{"add", {endpoint("127.0.0.1:9001"), endpoint("127.0.0.1:9002")}}};
  Snapshots published;
  {
    DiscoveryHub hub(w, dst.listen(), fast_options(),
                     [&](auto s) { published.push_back(std::move(s)); });
    hub.subscribe("web:80");
    Runner run{w};
    REQUIRE(run.until([&] { return !published.empty() && dst.resolve_streams.size() == 1; }));
    size_t before = published.size();
    // Every stream ends (a restart): nothing is published until the service answers again,
    // so workers keep balancing over what they knew.
    dst.first_resolve = {{"add", {endpoint("127.0.0.1:9002"), endpoint("127.0.0.1:9004")}}};
    dst.end_streams();
    REQUIRE(run.until([&] { return dst.resolve_streams.size() == 1; }));
    // The restarted stream's first line is the whole set: it replaces, it does not add.
    // (The profile stream restarts too and may publish the old endpoints first.)
    const std::vector<std::string> replaced{"127.0.0.1:9002", "127.0.0.1:9004"};
    REQUIRE(run.until([&] { return addresses(*published.back()) == replaced; }));
    CHECK(published.size() > before);
    for (size_t i = before; i + 1 < published.size(); ++i) {
      CHECK(!published[i]->endpoints.empty());  // never an empty set in between
    }
  }
  dst.end_streams();
  dst.server.close();
  finish(w);
}

TEST_CASE("an authority the destination service does not know is published as not found",
          "[proxy][discovery]") {
  event::Worker w(0);
  FakeDestination dst(w);
  Snapshots published;
  {
    DiscoveryHub hub(w, dst.listen(), fast_options(),
                     [&](auto s) { published.push_back(std::move(s)); });
    hub.subscribe("unknown.example:443");
    Runner run{w};
    REQUIRE(run.until([&] { return !published.empty(); }));
    CHECK(published.back()->state == ServiceSnapshot::State::kNotFound);
    CHECK(published.back()->authority == "unknown.example:443");
    // Asked again before the recheck interval: answered from what the hub knows.
    hub.subscribe("unknown.example:443");
    CHECK(published.size() == 2);
    CHECK(dst.resolve_queries.size() == 1);
  }
  dst.server.close();
  finish(w);
}

TEST_CASE("the worker cache: a first lookup waits, later ones answer at once",
          "[proxy][discovery]") {
  event::Worker w(0);
  ProxyConfig config;
  EndpointIdentities identities(config);
  std::vector<std::string> asked;
  {
    DiscoveryCache cache(w, {.answer = 200ms}, identities,
                         [&](const std::string& a) { asked.push_back(a); });
    std::optional<Result<DiscoveryCache::Service*>> answer;
    auto first = cache.lookup("web:80", [&](Result<DiscoveryCache::Service*> r) { answer = r; });
    REQUIRE(first.pending != nullptr);
    CHECK(asked == std::vector<std::string>{"web:80"});
    // A second request while the first waits does not ask again.
    std::optional<Result<DiscoveryCache::Service*>> second_answer;
    auto second =
        cache.lookup("web:80", [&](Result<DiscoveryCache::Service*> r) { second_answer = r; });
    CHECK(asked.size() == 1);

    auto snapshot = std::make_shared<ServiceSnapshot>();
    snapshot->authority = "web:80";
    snapshot->state = ServiceSnapshot::State::kResolved;
    snapshot->profile = std::make_shared<const discovery::Profile>();
    discovery::Endpoint e;
    e.address = *net::SocketAddress::parse("127.0.0.1:9001");
    e.identity = "web.ns.serviceaccount.identity.lmesh.cluster.local";
    snapshot->endpoints.push_back(e);
    cache.apply(snapshot);
    REQUIRE(answer.has_value());
    REQUIRE(answer->has_value());
    REQUIRE(**answer != nullptr);
    REQUIRE(second_answer.has_value());
    CHECK(identities.is_meshed(e.address));
    CHECK(*identities.expected(e.address) == e.identity);

    auto again = cache.lookup("web:80", [](auto) { FAIL("known: no callback"); });
    REQUIRE(again.service != nullptr);
    auto pick = cache.pick(*again.service);
    REQUIRE(pick.has_value());
    CHECK(pick->address() == e.address);

    // The endpoint goes: the identity is forgotten and the service fails fast.
    auto empty = std::make_shared<ServiceSnapshot>(*snapshot);
    empty->endpoints.clear();
    cache.apply(empty);
    CHECK(!identities.is_meshed(e.address));
    auto none = cache.pick(*again.service);
    REQUIRE(!none.has_value());
    CHECK(none.error().reason == balance::NoEndpoint::Reason::kNoEndpoints);

    // Not found: no waiting, the request goes where it was going.
    auto nf = std::make_shared<ServiceSnapshot>();
    nf->authority = "elsewhere:80";
    nf->state = ServiceSnapshot::State::kNotFound;
    nf->profile = snapshot->profile;
    cache.apply(nf);
    CHECK(cache.lookup("elsewhere:80", [](auto) { FAIL("not found: no callback"); }).not_found());
  }
  finish(w);
}

TEST_CASE("the worker cache: no answer in time is a timeout error; a dropped lookup is silent",
          "[proxy][discovery]") {
  event::Worker w(0);
  ProxyConfig config;
  EndpointIdentities identities(config);
  {
    DiscoveryCache cache(w, {.answer = 30ms}, identities, [](const std::string&) {});
    std::optional<Result<DiscoveryCache::Service*>> answer;
    auto waiting = cache.lookup("slow:80", [&](Result<DiscoveryCache::Service*> r) { answer = r; });
    auto dropped = cache.lookup("slow:80", [](auto) { FAIL("dropped: never called"); });
    dropped.pending.reset();
    Runner run{w};
    REQUIRE(run.until([&] { return answer.has_value(); }));
    REQUIRE(!answer->has_value());
    CHECK(answer->error().code() == ErrorCode::kTimeout);
    CHECK(answer->error().message().find("slow:80") != std::string::npos);
  }
  finish(w);
}

// A resolved snapshot of `authority` with the given endpoint addresses.
std::shared_ptr<ServiceSnapshot> resolved(const std::string& authority,
                                          const std::vector<std::string>& addrs) {
  auto s = std::make_shared<ServiceSnapshot>();
  s->authority = authority;
  s->state = ServiceSnapshot::State::kResolved;
  s->profile = std::make_shared<const discovery::Profile>();
  for (const auto& a : addrs) {
    discovery::Endpoint e;
    e.address = *net::SocketAddress::parse(a);
    s->endpoints.push_back(e);
  }
  return s;
}

TEST_CASE("a service without endpoints: requests wait for some, then the service fails fast",
          "[proxy][discovery]") {
  event::Worker w(0);
  ProxyConfig config;
  EndpointIdentities identities(config);
  {
    DiscoveryCache cache(w, {.answer = 1s, .failfast = 60ms}, identities,
                         [](const std::string&) {});
    cache.apply(resolved("web:80", {}));
    auto found = cache.lookup("web:80", [](auto) { FAIL("known: no callback"); });
    REQUIRE(found.service != nullptr);
    DiscoveryCache::Service& web = *found.service;
    REQUIRE(cache.pick(web).error().reason == balance::NoEndpoint::Reason::kNoEndpoints);

    // Endpoints arrive while a request waits: it is handed the service, and a wait dropped
    // meanwhile stays silent. An update that still has none keeps the request waiting.
    std::optional<Result<DiscoveryCache::Service*>> answer;
    auto waiting = cache.await_endpoints(web, [&](auto r) { answer = r; });
    REQUIRE(waiting != nullptr);
    auto dropped = cache.await_endpoints(web, [](auto) { FAIL("dropped: never called"); });
    dropped.reset();
    cache.apply(resolved("web:80", {}));
    CHECK(!answer.has_value());
    cache.apply(resolved("web:80", {"127.0.0.1:9001"}));
    REQUIRE(answer.has_value());
    REQUIRE(answer->has_value());
    CHECK(**answer == &web);
    CHECK(cache.pick(web).has_value());
    // A service with endpoints has nothing to wait for.
    CHECK(cache.await_endpoints(web, [](auto) {}) == nullptr);

    // None come in time: every waiting request fails, and later ones fail at once...
    cache.apply(resolved("web:80", {}));
    std::vector<Result<DiscoveryCache::Service*>> failed;
    uv_update_time(w.loop());  // the timers count from now, not from the loop's last turn
    uint64_t started = uv_hrtime();
    auto first = cache.await_endpoints(web, [&](auto r) { failed.push_back(r); });
    auto second = cache.await_endpoints(web, [&](auto r) { failed.push_back(r); });
    Runner run{w};
    REQUIRE(run.until([&] { return failed.size() == 2; }));
    CHECK(uv_hrtime() - started >= 50'000'000);  // the failfast timeout, not at once
    for (const auto& r : failed) {
      REQUIRE(!r.has_value());
      CHECK(r.error().code() == ErrorCode::kTimeout);
      CHECK(r.error().message().find("web:80: no endpoints for 60 ms") != std::string::npos);
    }
    CHECK(web.failing_fast);
    CHECK(cache.await_endpoints(web, [](auto) {}) == nullptr);
    // ...until discovery gives the service an endpoint again.
    cache.apply(resolved("web:80", {"127.0.0.1:9002"}));
    CHECK(!web.failing_fast);
    cache.apply(resolved("web:80", {}));
    auto again = cache.await_endpoints(web, [](auto) {});
    CHECK(again != nullptr);
    again.reset();

    // Discovery forgets the service while a request waits: the request learns it (null).
    std::optional<Result<DiscoveryCache::Service*>> forgotten;
    auto orphan = cache.await_endpoints(web, [&](auto r) { forgotten = r; });
    auto gone = std::make_shared<ServiceSnapshot>();
    gone->authority = "web:80";
    gone->state = ServiceSnapshot::State::kNotFound;
    cache.apply(gone);
    REQUIRE(forgotten.has_value());
    REQUIRE(forgotten->has_value());
    CHECK(**forgotten == nullptr);
  }
  finish(w);
}

http::RequestHead request_to(const char* host) {
  http::RequestHead r;
  r.method = "GET";
  r.target = "/";
  r.headers.add("Host", host);
  return r;
}

TEST_CASE("discovery_authority: host:port, lowercased, the port the application dialled",
          "[proxy][discovery]") {
  ConnectionTarget none;
  CHECK(discovery_authority(none, request_to("Web.NS.svc.cluster.local:8080")) ==
        "web.ns.svc.cluster.local:8080");
  CHECK(discovery_authority(none, request_to("web")) == "web:80");
  ConnectionTarget redirected;
  redirected.original_destination = *net::SocketAddress::parse("198.18.0.5:8080");
  CHECK(discovery_authority(redirected, request_to("web")) == "web:8080");
  CHECK(discovery_authority(redirected, request_to("web:9090")) == "web:9090");
  CHECK(discovery_authority(redirected, request_to("[::1]")) == "[::1]:8080");
  CHECK(discovery_authority(none, request_to("[::1]:81")) == "[::1]:81");
  CHECK(discovery_authority(none, request_to("bad:port:x")).empty());
  CHECK(discovery_target("/v1/resolve", "web:80") == "/v1/resolve?authority=web:80");
  CHECK(discovery_target("/v1/resolve", "a b&c") == "/v1/resolve?authority=a%20b%26c");
}

}  // namespace
}  // namespace lmesh::proxy

namespace lmesh::proxy {
namespace {

double authorities(const DiscoveryHub& hub, const std::string& state) {
  metrics::Snapshot m;
  hub.append_metrics(m);
  return m.find("discovery_authorities")->find({state})->value;
}

TEST_CASE("names discovery does not know are forgotten: memory does not grow with them",
          "[proxy][discovery]") {
  using namespace std::chrono_literals;
  event::Worker w(0);
  FakeDestination dst(w);
  ProxyConfig config;
  EndpointIdentities identities(config);
  {
    Snapshots published;
    DiscoveryHub hub(
        w, dst.listen(), fast_options(), [&](auto s) { published.push_back(std::move(s)); }, 50ms);
    DiscoveryCache cache(w, {.answer = 1s, .not_found_ttl = 50ms}, identities,
                         [&](const std::string& a) { hub.subscribe(a); });
    for (int i = 0; i < 20; ++i) {
      auto found = cache.lookup("unknown-" + std::to_string(i) + ":80", [](auto) {});
      found.pending.reset();  // the request went elsewhere; the answer still arrives
    }
    Runner run{w};
    REQUIRE(run.until([&] { return published.size() == 20; }));
    for (const auto& s : published) cache.apply(s);
    CHECK(cache.size() == 20);
    CHECK(authorities(hub, "not_found") == 20);
    // Unused for two TTLs: both the hub and the worker cache have let them go.
    auto later = uv_hrtime() + 300'000'000;
    REQUIRE(run.until([&] {
      return uv_hrtime() > later && cache.size() == 0 && authorities(hub, "not_found") == 0;
    }));
  }
  dst.end_streams();
  dst.server.close();
  finish(w);
}

}  // namespace
}  // namespace lmesh::proxy
