// DestinationServer (src/destination/destination_server.h) with api::Client on one loop, over
// HTTP/2 and HTTP/1.1: streams start with the current state and follow changes, errors have
// their status, and a client that goes away leaves the store (no leak, no send to a dead
// stream). Also the configuration parser (config.h).
#include "destination/destination_server.h"

#include <nlohmann/json.hpp>

#include <csignal>
#include <map>
#include <optional>

#include <catch2/catch.hpp>

#include "common/api/client.h"
#include "common/net/loop_helpers.h"
#include "destination/config.h"

namespace lmesh::destination {
namespace {

using namespace std::chrono_literals;
using net::testing::run_until;
using net::testing::stop_and_close;
using nlohmann::json;

discovery::Endpoint ep(const std::string& addr) {
  discovery::Endpoint e;
  e.address = *net::SocketAddress::parse(addr);
  return e;
}

ServiceSpec web(std::vector<discovery::Endpoint> endpoints) {
  ServiceSpec s;
  s.authority = "web.default.svc.cluster.local:8080";
  s.aliases = {"web:8080"};
  s.endpoints = std::move(endpoints);
  return s;
}

api::ClientOptions options(api::ClientProtocol protocol) {
  api::ClientOptions o;
  o.protocol = protocol;
  o.backoff_min = 10ms;
  o.backoff_max = 20ms;
  return o;
}

struct Lines {
  std::optional<int> status;
  std::vector<json> lines;
};

api::WatchCallbacks record(Lines& into) {
  api::WatchCallbacks cb;
  cb.on_open = [&into](int status) {
    into.status = status;
    return status == 200;
  };
  cb.on_line = [&into](std::string_view line) { into.lines.push_back(json::parse(line)); };
  return cb;
}

TEST_CASE("streams over HTTP/2 and HTTP/1.1 follow the store", "[destination][server]") {
  const api::ClientProtocol protocol =
      GENERATE(api::ClientProtocol::kHttp2, api::ClientProtocol::kHttp1);
  CAPTURE(protocol == api::ClientProtocol::kHttp2 ? "h2c" : "HTTP/1.1");
  event::Worker w(0);
  {
    DestinationMetrics metrics;
    Store store(metrics);
    REQUIRE(store.set_service(web({ep("198.18.0.12:8080")})).has_value());
    DestinationServer server(w, store, metrics);
    auto bound = server.listen(*net::SocketAddress::parse("127.0.0.1:0"));
    REQUIRE(bound.has_value());
    {
      api::Client client(w, *bound, options(protocol));
      Lines resolve, profile;
      auto r = client.watch("/v1/resolve?authority=WEB:8080", record(resolve));
      auto p =
          client.watch("/v1/profile?authority=web.default.svc.cluster.local:8080", record(profile));
      REQUIRE(run_until(w, [&] { return resolve.lines.size() == 1 && profile.lines.size() == 1; }));
      CHECK(resolve.lines[0]["add"][0]["addr"] == "198.18.0.12:8080");
      CHECK(profile.lines[0]["routes"].empty());
      CHECK(store.subscriber_count() == 2);

      REQUIRE(store.set_service(web({ep("198.18.0.13:8080")})).has_value());
      REQUIRE(run_until(w, [&] { return resolve.lines.size() == 3; }));
      CHECK(resolve.lines[1]["add"][0]["addr"] == "198.18.0.13:8080");
      CHECK(resolve.lines[2]["remove"][0] == "198.18.0.12:8080");

      // The client goes: its streams leave the store.
      r.reset();
      p.reset();
      REQUIRE(run_until(w, [&] { return store.subscriber_count() == 0; }));
      CHECK(metrics.subscribers(StreamKind::kResolve).value() == 0);
      CHECK(metrics.subscribers(StreamKind::kProfile).value() == 0);
      // Changes after that go nowhere (and do not crash).
      REQUIRE(store.set_service(web({ep("198.18.0.14:8080")})).has_value());
      net::testing::run_for(w, 20ms);
      CHECK(resolve.lines.size() == 3);
    }
    server.close();
    // Its connections reach the server from their close callbacks: it must outlive them.
    REQUIRE(run_until(w, [&] { return server.connection_count() == 0; }));
  }
  stop_and_close(w);
}

TEST_CASE("unknown and bad authorities; a removed service ends the stream",
          "[destination][server]") {
  event::Worker w(0);
  {
    DestinationMetrics metrics;
    Store store(metrics);
    REQUIRE(store.set_service(web({ep("198.18.0.12:8080")})).has_value());
    DestinationServer server(w, store, metrics);
    auto bound = server.listen(*net::SocketAddress::parse("127.0.0.1:0"));
    REQUIRE(bound.has_value());
    {
      api::Client client(w, *bound, options(api::ClientProtocol::kHttp2));
      std::map<std::string, Result<api::ClientResponse>> got;
      std::vector<std::unique_ptr<api::Call>> calls;
      for (std::string target : {"/v1/resolve?authority=nope:80", "/v1/profile?authority=web",
                                 "/v1/resolve", "/ready", "/metrics", "/live"}) {
        calls.push_back(client.request(
            "GET", target, "", [&got, target](auto r) { got.emplace(target, std::move(r)); }));
      }
      REQUIRE(run_until(w, [&] { return got.size() == calls.size(); }));
      auto status = [&](const std::string& t) { return got.at(t).value().status; };
      auto body = [&](const std::string& t) { return json::parse(got.at(t).value().body); };
      CHECK(status("/v1/resolve?authority=nope:80") == 404);
      CHECK(body("/v1/resolve?authority=nope:80") ==
            json{{"error", "unknown authority"}, {"detail", "no service is named nope:80"}});
      CHECK(status("/v1/profile?authority=web") == 400);
      CHECK(body("/v1/profile?authority=web")["error"] == "bad authority");
      CHECK(status("/v1/resolve") == 400);
      CHECK(status("/ready") == 503);  // nothing said the store was complete
      CHECK(status("/metrics") == 200);
      CHECK(got.at("/metrics")->body.find("destination_services 1") != std::string::npos);
      CHECK(status("/live") == 200);

      // The service goes away: no_endpoints, then the stream ends (the watch reconnects and
      // hears 404, which stops it).
      Lines resolve;
      auto r = client.watch("/v1/resolve?authority=web:8080", record(resolve));
      REQUIRE(run_until(w, [&] { return resolve.lines.size() == 1; }));
      CHECK(store.remove_service("web.default.svc.cluster.local:8080"));
      REQUIRE(run_until(w, [&] { return resolve.status == 404; }));
      REQUIRE(resolve.lines.size() == 2);
      CHECK(resolve.lines[1] == json{{"no_endpoints", true}});
      CHECK(store.subscriber_count() == 0);
    }
    server.close();
    // Its connections reach the server from their close callbacks: it must outlive them.
    REQUIRE(run_until(w, [&] { return server.connection_count() == 0; }));
  }
  stop_and_close(w);
}

TEST_CASE("closing the server ends every stream and empties the store's followers",
          "[destination][server]") {
  // The clients may still write to connections the server has closed; as in main(), that is
  // EPIPE, not a reason to die.
  std::signal(SIGPIPE, SIG_IGN);
  event::Worker w(0);
  {
    DestinationMetrics metrics;
    Store store(metrics);
    REQUIRE(store.set_service(web({ep("198.18.0.12:8080")})).has_value());
    DestinationServer server(w, store, metrics);
    auto bound = server.listen(*net::SocketAddress::parse("127.0.0.1:0"));
    REQUIRE(bound.has_value());
    api::Client h2(w, *bound, options(api::ClientProtocol::kHttp2));
    api::Client h1(w, *bound, options(api::ClientProtocol::kHttp1));
    std::vector<Lines> lines(60);
    std::vector<std::unique_ptr<api::Watch>> watches;
    for (size_t i = 0; i < lines.size(); ++i) {
      api::Client& c = i % 2 == 0 ? h2 : h1;
      watches.push_back(
          c.watch(i % 3 == 0 ? "/v1/profile?authority=web:8080" : "/v1/resolve?authority=web:8080",
                  record(lines[i])));
    }
    REQUIRE(run_until(w, [&] { return store.subscriber_count() == lines.size(); }));
    server.close();
    // Its connections reach the server from their close callbacks: it must outlive them.
    REQUIRE(run_until(w, [&] { return server.connection_count() == 0; }));
    CHECK(store.subscriber_count() == 0);
    watches.clear();
  }
  stop_and_close(w);
}

TEST_CASE("GET /v1/pods: matches, 400 and 404, counted", "[destination][server][pods]") {
  event::Worker w(0);
  {
    DestinationMetrics metrics;
    Store store(metrics);
    discovery::Endpoint e = ep("198.18.0.12:8080");
    e.labels = {{"pod", "web-1"}};
    PodSpec web1{"web-1",
                 "default",
                 "deploy/web",
                 "web",
                 "web.default.serviceaccount.identity.lmesh.cluster.local",
                 "198.18.0.12",
                 "198.18.0.12:4191"};
    PodSpec db0{"db-0", "prod", "statefulset/db", "default", "", "198.18.0.20", "198.18.0.20:4191"};
    REQUIRE(store.replace_all({web({e})}, {web1, db0}).has_value());
    DestinationServer server(w, store, metrics, "example.org");
    auto bound = server.listen(*net::SocketAddress::parse("127.0.0.1:0"));
    REQUIRE(bound.has_value());
    {
      api::Client client(w, *bound, options(api::ClientProtocol::kHttp1));
      std::map<std::string, Result<api::ClientResponse>> got;
      std::vector<std::unique_ptr<api::Call>> calls;
      for (std::string target :
           {"/v1/pods", "/v1/pods?target=deploy/web", "/v1/pods?target=svc/web&namespace=default",
            "/v1/pods?target=ns/prod", "/v1/pods?target=deploy/nope&namespace=prod",
            "/v1/pods?target=rs/web", "/v1/pods?target=deploy&namespace=BAD"}) {
        calls.push_back(client.request(
            "GET", target, "", [&got, target](auto r) { got.emplace(target, std::move(r)); }));
      }
      REQUIRE(run_until(w, [&] { return got.size() == calls.size(); }));
      auto status = [&](const std::string& t) { return got.at(t).value().status; };
      auto body = [&](const std::string& t) { return json::parse(got.at(t).value().body); };
      auto names = [&](const std::string& t) {
        std::vector<std::string> out;
        json answer = body(t);  // kept: a range-for over a temporary's member would dangle
        for (const json& p : answer["pods"]) out.push_back(p["name"]);
        return out;
      };
      using V = std::vector<std::string>;
      CHECK(status("/v1/pods") == 200);
      CHECK(names("/v1/pods") == V{"web-1", "db-0"});  // by namespace, then name
      CHECK(body("/v1/pods?target=deploy/web") ==
            json::parse(
                R"({"pods":[{"name":"web-1","namespace":"default","workload":"deploy/web",)"
                R"("service_account":"web","identity":"web.default.serviceaccount.)"
                R"(identity.lmesh.cluster.local","addr":"198.18.0.12","admin":)"
                R"("198.18.0.12:4191","services":["web.default.svc.cluster.local:8080"]}]})"));
      // The configured cluster domain: web.default.svc.cluster.local is not web's here.
      CHECK(status("/v1/pods?target=svc/web&namespace=default") == 404);
      CHECK(names("/v1/pods?target=ns/prod") == V{"db-0"});
      CHECK(status("/v1/pods?target=deploy/nope&namespace=prod") == 404);
      CHECK(body("/v1/pods?target=deploy/nope&namespace=prod") ==
            json{{"error", "no match"}, {"detail", "no pods for deploy/nope in namespace prod"}});
      CHECK(status("/v1/pods?target=rs/web") == 400);
      CHECK(body("/v1/pods?target=rs/web")["error"] == "bad target");
      CHECK(status("/v1/pods?target=deploy&namespace=BAD") == 400);
      std::string text = metrics.render();
      CHECK(text.find("destination_pods_requests_total{code=\"200\"} 3") != std::string::npos);
      CHECK(text.find("destination_pods_requests_total{code=\"404\"} 2") != std::string::npos);
      CHECK(text.find("destination_pods_requests_total{code=\"400\"} 2") != std::string::npos);
      CHECK(text.find("destination_pods 2") != std::string::npos);
    }
    server.close();
    REQUIRE(run_until(w, [&] { return server.connection_count() == 0; }));
  }
  stop_and_close(w);
}

// ---------------------------------------------------------------- configuration

const char* no_env(const char*) {
  return nullptr;
}

TEST_CASE("configuration", "[destination][config]") {
  auto ok = parse_args({"--mesh-file", "/etc/mesh.yaml"}, &no_env);
  REQUIRE(ok.has_value());
  CHECK(ok->config.listen.to_string() == "0.0.0.0:8086");
  CHECK(ok->config.mesh_file == "/etc/mesh.yaml");
  CHECK(ok->config.reload_debounce == 50ms);

  auto set = parse_args({"--mesh-file=m", "--listen", "127.0.0.1:0", "--reload-debounce", "0",
                         "--log-format", "json", "--log-level", "debug"},
                        &no_env);
  REQUIRE(set.has_value());
  CHECK(set->config.listen.to_string() == "127.0.0.1:0");
  CHECK(set->config.reload_debounce == 0ms);
  CHECK(set->config.log_format == log::Format::kJson);

  CHECK(parse_args({}, &no_env).error().describe().find("--mesh-file FILE is required") !=
        std::string::npos);
  CHECK(parse_args({"--mesh-file", "m", "--reload-debounce", "1h"}, &no_env)
            .error()
            .describe()
            .starts_with("invalid --reload-debounce '1h'"));
  CHECK(parse_args({"--bogus"}, &no_env).error().describe().find("bogus") != std::string::npos);
  CHECK(parse_args({"--help"}, &no_env)->help);
  CHECK(usage().find("--mesh-file") != std::string::npos);

  static const char* kFile = "/from/env.yaml";
  auto env = parse_args({}, [](const char* n) -> const char* {
    return std::string_view(n) == "LMESH_DESTINATION_MESH_FILE" ? kFile : nullptr;
  });
  REQUIRE(env.has_value());
  CHECK(env->config.mesh_file == kFile);
}

}  // namespace
}  // namespace lmesh::destination
