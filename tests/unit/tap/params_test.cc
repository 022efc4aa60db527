// Targets and the parameters of /v1/tap and /v1/stat: what is refused (and named), and the
// filter each proxy is asked with.
#include <catch2/catch.hpp>

#include "tap/stat_params.h"
#include "tap/tap_params.h"
#include "tap/target.h"

namespace lmesh::tap {
namespace {

TEST_CASE("targets fold the kinds' aliases into one spelling") {
  for (const char* text : {"deploy/web", "deployment/web", "deployments/web"}) {
    auto t = parse_target(text);
    REQUIRE(t);
    CHECK(t->kind == TargetKind::kDeploy);
    CHECK(t->to_string() == "deploy/web");
  }
  CHECK(parse_target("po/web-1")->to_string() == "pod/web-1");
  CHECK(parse_target("services/web")->to_string() == "svc/web");
  CHECK(parse_target("namespaces/prod")->to_string() == "ns/prod");
  auto all = parse_target("deploy");
  REQUIRE(all);
  CHECK(all->name.empty());
  CHECK(all->to_string() == "deploy");
}

TEST_CASE("malformed targets are refused with the reason") {
  for (const char* text : {"", "daemonset/x", "deploy/", "deploy/Web", "deploy/-web",
                           "deploy/web/x", "/web", "deploy/we b"}) {
    INFO(text);
    auto t = parse_target(text);
    REQUIRE_FALSE(t);
    CHECK(t.error().code() == ErrorCode::kInvalidArgument);
  }
  CHECK_THAT(parse_target("job/x").error().message(), Catch::Contains("unknown kind 'job'"));
}

TEST_CASE("tap parameters: defaults, every filter, and errors naming the parameter") {
  auto p = parse_tap_params({{"target", "deploy/web"}});
  REQUIRE(p);
  CHECK(p->namespace_ == "default");
  CHECK(p->max_rps == 100);
  CHECK_FALSE(p->to);

  p = parse_tap_params({{"target", "deploy/web"},
                        {"namespace", "prod"},
                        {"to", "svc/db"},
                        {"to_namespace", "data"},
                        {"method", "GET"},
                        {"path_prefix", "/books"},
                        {"authority", "web:8080"},
                        {"max_rps", "2.5"}});
  REQUIRE(p);
  CHECK(p->to->to_string() == "svc/db");
  CHECK(p->to_namespace == "data");
  CHECK(p->max_rps == 2.5);

  struct Bad {
    api::QueryParams query;
    const char* names;
  };
  for (const Bad& bad : std::vector<Bad>{
           {{}, "target"},
           {{{"target", "job/x"}}, "target"},
           {{{"target", "deploy/web"}, {"namespace", "Prod"}}, "namespace"},
           {{{"target", "deploy/web"}, {"max_rps", "0"}}, "max_rps"},
           {{{"target", "deploy/web"}, {"max_rps", "100001"}}, "max_rps"},
           {{{"target", "deploy/web"}, {"max_rps", "fast"}}, "max_rps"},
           {{{"target", "deploy/web"}, {"method", "get me"}}, "method"},
           {{{"target", "deploy/web"}, {"path_prefix", "books"}}, "path_prefix"},
           {{{"target", "deploy/web"}, {"to", "x/y"}}, "to"},
           {{{"target", "deploy/web"}, {"to_namespace", "data"}}, "to_namespace"},
           {{{"target", "deploy/web"}, {"dirction", "inbound"}}, "dirction"},
       }) {
    auto r = parse_tap_params(bad.query);
    INFO(bad.names);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains(bad.names));
  }
}

TEST_CASE("each proxy gets its share of max_rps and the to= pods as outbound destinations") {
  auto p = parse_tap_params({{"target", "deploy/web"},
                             {"to", "deploy/db"},
                             {"max_rps", "30"},
                             {"path_prefix", "/a&b=c"}});
  REQUIRE(p);
  std::string target = proxy_tap_target(*p, 3, {"198.18.0.20", "198.18.0.21"});
  CHECK(target ==
        "/tap?max_rps=10&path_prefix=%2Fa%26b%3Dc&direction=outbound"
        "&destination=198.18.0.20%2C198.18.0.21");

  // A share never falls below what a proxy accepts.
  auto tiny = parse_tap_params({{"target", "deploy/web"}, {"max_rps", "0.1"}});
  CHECK(proxy_tap_target(*tiny, 4, {}) == "/tap?max_rps=0.1");
}

TEST_CASE("stat parameters") {
  auto p = parse_stat_params({{"target", "deploy"}, {"window", "30s"}});
  REQUIRE(p);
  CHECK(p->window == std::chrono::seconds(30));
  CHECK(parse_stat_params({{"target", "deploy/web"}})->window == std::chrono::minutes(1));
  CHECK_FALSE(parse_stat_params({{"target", "deploy/web"}, {"window", "0"}}));
  CHECK_FALSE(parse_stat_params({{"target", "deploy/web"}, {"window", "soon"}}));
  CHECK_FALSE(parse_stat_params({{"window", "1m"}}));
  CHECK_FALSE(parse_stat_params({{"target", "deploy/web"}, {"namespace", "a_b"}}));
  CHECK_THAT(parse_stat_params({{"target", "deploy/web"}, {"x", "1"}}).error().message(),
             Catch::Contains("unknown parameter x"));
}

}  // namespace
}  // namespace lmesh::tap
