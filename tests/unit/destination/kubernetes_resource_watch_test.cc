// ResourceWatch (src/destination/kubernetes/resource_watch.h) on a real loop against an
// in-process stand-in for the API server (api::Server answering LIST and holding WATCH
// streams; not a cluster): paged lists, watches from the list's resourceVersion, bookmarks,
// resuming from the last resourceVersion with a re-read token, re-lists after 410 (as an
// event and as a status), a missing CRD, failed lists retried, malformed lines skipped, and a
// silent watch replaced. Every test ends with uv_loop_close() == 0.
#include "destination/kubernetes/resource_watch.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/api/server.h"
#include "common/net/loop_helpers.h"

namespace lmesh::destination::kubernetes {
namespace {

using namespace std::chrono_literals;
using net::testing::run_until;
using net::testing::stop_and_close;
using nlohmann::json;

constexpr std::string_view kServices = "/api/v1/services";
constexpr std::string_view kProfiles = "/apis/lmesh.io/v1alpha1/serviceprofiles";

struct Seen {
  std::string path;
  std::map<std::string, std::string> query;
  std::string authorization;
  bool watch() const { return query.contains("watch"); }
};

// Answers LISTs with `list` (default: one item at resourceVersion 10) and holds WATCHes open.
struct StandIn {
  explicit StandIn(event::Worker& w) : server(w) {
    for (std::string_view path : {kServices, kProfiles}) {
      server.route("GET", std::string(path),
                   [this](const api::Request& r, std::shared_ptr<api::Response> response) {
                     Seen s{r.path, {r.query.begin(), r.query.end()}, ""};
                     s.authorization = std::string(r.headers->get("authorization").value_or(""));
                     seen.push_back(s);
                     if (s.watch()) {
                       if (watch_status != 200) {
                         response->error(std::exchange(watch_status, 200), "gone", "expired");
                         return;
                       }
                       response->begin_json_stream(200);
                       watches.push_back(response);
                     } else {
                       list(s, *response);
                     }
                   });
    }
    address = *server.listen(*net::SocketAddress::parse("127.0.0.1:0"));
  }

  static void answer(api::Response& r, const std::string& rv, json items,
                     const std::string& next = "") {
    json body = {{"kind", "List"},
                 {"metadata", {{"resourceVersion", rv}, {"continue", next}}},
                 {"items", std::move(items)}};
    r.send(200, "application/json", body.dump());
  }

  static json object(const std::string& name, const std::string& rv) {
    return {{"metadata", {{"name", name}, {"namespace", "default"}, {"resourceVersion", rv}}}};
  }

  void send(const json& event) { watches.back()->send_line(event.dump()); }

  size_t count(bool watch) const {
    return std::count_if(seen.begin(), seen.end(),
                         [&](const Seen& s) { return s.watch() == watch; });
  }
  const Seen& last(bool watch) const {
    for (auto it = seen.rbegin(); it != seen.rend(); ++it) {
      if (it->watch() == watch) return *it;
    }
    FAIL("no such request");
    return seen.front();
  }

  api::Server server;
  net::SocketAddress address;
  std::vector<Seen> seen;
  std::vector<std::shared_ptr<api::Response>> watches;
  int watch_status = 200;  // the next watch is answered with this, once
  std::function<void(const Seen&, api::Response&)> list = [](const Seen&, api::Response& r) {
    answer(r, "10", json::array({object("a", "9")}));
  };
};

struct Recorder : ResourceWatch::Handler {
  struct Listed {
    size_t items;
    bool relist;
  };
  void on_listed(Kind, std::vector<json> items, bool relist) override {
    listed.push_back({items.size(), relist});
  }
  void on_event(Kind, WatchEvent event) override { events.push_back(std::move(event)); }
  void on_malformed(Kind, const discovery::FieldError& why, std::string_view) override {
    malformed.push_back(why.describe());
  }
  std::vector<Listed> listed;
  std::vector<WatchEvent> events;
  std::vector<std::string> malformed;
};

struct TokenFile {
  TokenFile() {
    char name[] = "/tmp/lmesh-kube-token-XXXXXX";
    int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    write("t0k3n");
  }
  ~TokenFile() { std::remove(path.c_str()); }
  void write(const std::string& token) const {
    std::ofstream(path, std::ios::trunc) << token << "\n";
  }
  std::string path;
};

std::unique_ptr<ApiConnection> connect(event::Worker& w, const StandIn& api, const TokenFile& t) {
  ApiServerAccess access;
  access.server = *parse_server_url("http://" + api.address.to_string());
  access.token_file = t.path;
  access.source = "test";
  auto c = ApiConnection::open(w, access);
  REQUIRE(c);
  return std::move(*c);
}

ResourceWatchOptions quick() {
  ResourceWatchOptions o;
  o.page_size = 2;
  o.absent_recheck = 50ms;
  return o;
}

TEST_CASE("pages, watch, bookmark, resume with a fresh token", "[kubernetes][resource-watch]") {
  event::Worker w(0);
  TokenFile token;
  {
    StandIn api(w);
    api.list = [](const Seen& s, api::Response& r) {
      if (!s.query.contains("continue")) {
        StandIn::answer(r, "10",
                        json::array({StandIn::object("a", "3"), StandIn::object("b", "4")}),
                        "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ/==");
      } else {
        StandIn::answer(r, "10", json::array({StandIn::object("c", "5")}));
      }
    };
    auto conn = connect(w, api, token);
    Recorder rec;
    ResourceWatch watch(*conn, Kind::kServices, rec, quick());
    watch.start();
    REQUIRE(run_until(w, [&] { return api.watches.size() == 1; }));
    REQUIRE(rec.listed.size() == 1);
    CHECK(rec.listed[0].items == 3);
    CHECK_FALSE(rec.listed[0].relist);
    REQUIRE(api.seen.size() == 3);
    CHECK(api.seen[0].query == std::map<std::string, std::string>{{"limit", "2"}});
    CHECK(api.seen[1].query.at("continue") == "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ/==");
    const Seen& watched = api.seen[2];
    CHECK(watched.path == kServices);
    CHECK(watched.query.at("watch") == "1");
    CHECK(watched.query.at("allowWatchBookmarks") == "true");
    CHECK(watched.query.at("resourceVersion") == "10");
    int timeout = std::stoi(watched.query.at("timeoutSeconds"));
    CHECK((timeout >= 300 && timeout <= 600));
    for (const Seen& s : api.seen) CHECK(s.authorization == "Bearer t0k3n");

    api.send({{"type", "ADDED"}, {"object", StandIn::object("d", "11")}});
    api.send({{"type", "BOOKMARK"}, {"object", {{"metadata", {{"resourceVersion", "15"}}}}}});
    REQUIRE(run_until(w, [&] { return rec.events.size() == 2; }));
    CHECK(rec.events[0].object["metadata"]["name"] == "d");
    CHECK(watch.resource_version() == "15");

    // The stream ends: the same watch again, from the bookmark, with the rotated token.
    token.write("rotated");
    api.watches.back()->end_stream();
    REQUIRE(run_until(w, [&] { return api.watches.size() == 2; }));
    CHECK(api.last(true).query.at("resourceVersion") == "15");
    CHECK(api.last(true).authorization == "Bearer rotated");
    CHECK(api.count(false) == 2);  // no re-list

    // A malformed line is reported and skipped; the watch goes on.
    api.watches.back()->send_line("{\"type\":\"ADDED\"");
    api.send({{"type", "MODIFIED"}, {"object", StandIn::object("d", "16")}});
    REQUIRE(run_until(w, [&] { return rec.events.size() == 3; }));
    CHECK(rec.malformed == std::vector<std::string>{"/: not JSON"});
    CHECK(watch.resource_version() == "16");
    api.server.close();
    // Its connections reach the server from their close callbacks: it must outlive them.
    REQUIRE(run_until(w, [&] { return api.server.connection_count() == 0; }));
  }
  stop_and_close(w);
}

TEST_CASE("410 Gone re-lists, as an event and as a status", "[kubernetes][resource-watch]") {
  event::Worker w(0);
  TokenFile token;
  {
    StandIn api(w);
    int lists = 0;
    api.list = [&lists](const Seen&, api::Response& r) {
      StandIn::answer(r, std::to_string(10 * ++lists), json::array());
    };
    auto conn = connect(w, api, token);
    Recorder rec;
    ResourceWatch watch(*conn, Kind::kServices, rec, quick());
    watch.start();
    REQUIRE(run_until(w, [&] { return api.watches.size() == 1; }));
    api.send({{"type", "ERROR"},
              {"object",
               {{"kind", "Status"},
                {"code", 410},
                {"reason", "Expired"},
                {"message", "too old resource version: 10 (52)"}}}});
    REQUIRE(run_until(w, [&] { return api.watches.size() == 2; }));
    REQUIRE(rec.listed.size() == 2);
    CHECK(rec.listed[1].relist);
    CHECK(api.last(true).query.at("resourceVersion") == "20");

    // The next watch is refused with 410 at once: listed again (with backoff, it is the second
    // expiry in a row) and watched from the new list.
    api.watch_status = 410;
    api.watches.back()->end_stream();
    REQUIRE(run_until(w, [&] { return api.watches.size() == 3; }));
    CHECK(rec.listed.size() == 3);
    CHECK(api.last(true).query.at("resourceVersion") == "30");
    api.server.close();
    // Its connections reach the server from their close callbacks: it must outlive them.
    REQUIRE(run_until(w, [&] { return api.server.connection_count() == 0; }));
  }
  stop_and_close(w);
}

TEST_CASE("a missing CRD is no objects, and is looked for again", "[kubernetes][resource-watch]") {
  event::Worker w(0);
  TokenFile token;
  {
    StandIn api(w);
    int asked = 0;
    api.list = [&asked](const Seen&, api::Response& r) {
      if (++asked <= 3) {
        r.json(404, {{"kind", "Status"}, {"code", 404}, {"reason", "NotFound"}});
      } else {
        StandIn::answer(r, "7",
                        json::array({StandIn::object("web.default.svc.cluster.local", "6")}));
      }
    };
    auto conn = connect(w, api, token);
    Recorder rec;
    ResourceWatch watch(*conn, Kind::kServiceProfiles, rec, quick());
    watch.start();
    REQUIRE(run_until(w, [&] { return api.watches.size() == 1; }));
    CHECK(asked == 4);
    REQUIRE(rec.listed.size() == 2);  // the 404s are one empty state, not three
    CHECK(rec.listed[0].items == 0);
    CHECK(rec.listed[1].items == 1);
    CHECK(rec.listed[1].relist);
    CHECK(api.last(true).path == kProfiles);
    api.server.close();
    // Its connections reach the server from their close callbacks: it must outlive them.
    REQUIRE(run_until(w, [&] { return api.server.connection_count() == 0; }));
  }
  stop_and_close(w);
}

TEST_CASE("a refused list is retried; a silent watch is replaced", "[kubernetes][resource-watch]") {
  event::Worker w(0);
  TokenFile token;
  {
    StandIn api(w);
    int asked = 0;
    api.list = [&asked](const Seen&, api::Response& r) {
      if (++asked == 1) {
        r.json(403, {{"kind", "Status"}, {"code", 403}, {"reason", "Forbidden"}});
      } else {
        StandIn::answer(r, "10", json::array());
      }
    };
    auto conn = connect(w, api, token);
    Recorder rec;
    ResourceWatchOptions o = quick();
    o.watch_timeout = 1s;  // timeoutSeconds 1 or 2, which the stand-in ignores
    o.stall_grace = 100ms;
    ResourceWatch watch(*conn, Kind::kServices, rec, o);
    watch.start();
    REQUIRE(run_until(w, [&] { return api.watches.size() == 1; }));
    CHECK(asked == 2);
    CHECK(rec.listed.size() == 1);
    REQUIRE(run_until(
        w, [&] { return api.watches.size() == 2; }, 5s));
    CHECK(api.last(true).query.at("resourceVersion") == "10");
    CHECK(api.count(false) == 2);
    api.server.close();
    // Its connections reach the server from their close callbacks: it must outlive them.
    REQUIRE(run_until(w, [&] { return api.server.connection_count() == 0; }));
  }
  stop_and_close(w);
}

}  // namespace
}  // namespace lmesh::destination::kubernetes
