// TokenReviewValidator (src/identity/token_review_validator.h) against a STAND-IN for the
// Kubernetes API server: an api::Server on the same loop that answers
// POST /apis/authentication.k8s.io/v1/tokenreviews with recorded, real-shaped responses. It is
// not a cluster; it checks what we send (body, bearer credential) and how we read each kind of
// answer the real API server gives.
#include "identity/token_review_validator.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include <catch2/catch.hpp>

#include "common/api/server.h"
#include "common/net/loop_helpers.h"

namespace lmesh::identity {
namespace {

using namespace std::chrono_literals;
using net::testing::run_until;
using net::testing::stop_and_close;

// Recorded from a kind v1.29 cluster (uids and the token shortened): a projected token of
// ServiceAccount default/web, audience identity.lmesh.io.
constexpr char kAuthenticated[] = R"({"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1",
"metadata":{"creationTimestamp":null,"managedFields":[{"manager":"curl","operation":"Update",
"apiVersion":"authentication.k8s.io/v1","time":"2024-05-01T10:00:00Z"}]},
"spec":{"token":"eyJhbGciOiJSUzI1NiIs...","audiences":["identity.lmesh.io"]},
"status":{"authenticated":true,"user":{"username":"system:serviceaccount:default:web",
"uid":"5b0c7a4e-0d6c-4c4e-9f3e-2f0f4b0e8a11","groups":["system:serviceaccounts",
"system:serviceaccounts:default","system:authenticated"],
"extra":{"authentication.kubernetes.io/pod-name":["web-5d8f7c9b6-x2x8k"],
"authentication.kubernetes.io/pod-uid":["0d9c3c4b-5a3a-4f0e-8a9b-6c1b2d3e4f50"]}},
"audiences":["identity.lmesh.io"]}})";
// A token the API server does not accept: "authenticated" is omitted (omitempty), "error" says why.
constexpr char kRejected[] = R"({"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1",
"metadata":{"creationTimestamp":null},"spec":{"token":"garbage","audiences":["identity.lmesh.io"]},
"status":{"user":{},"error":"[invalid bearer token, square/go-jose: error in cryptographic primitive]"}})";
// Authenticated, but not a ServiceAccount (a user's OIDC token).
constexpr char kNotServiceAccount[] =
    R"({"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1",
"metadata":{"creationTimestamp":null},"spec":{"token":"x"},
"status":{"authenticated":true,"user":{"username":"alice@example.com","groups":["devs"]}}})";
// Our own ServiceAccount lacks RBAC for tokenreviews.
constexpr char kForbidden[] =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
"message":"tokenreviews.authentication.k8s.io is forbidden: User \"system:serviceaccount:lmesh:identity\" cannot create resource \"tokenreviews\" in API group \"authentication.k8s.io\" at the cluster scope",
"reason":"Forbidden","details":{"group":"authentication.k8s.io","kind":"tokenreviews"},"code":403})";

struct CredentialFile {
  CredentialFile() {
    char name[] = "/tmp/lmesh-sa-token-XXXXXX";
    int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream(path) << "our-sa-token\n";
  }
  ~CredentialFile() { std::remove(path.c_str()); }
  std::string path;
};

// What the stand-in saw and what it answers.
struct StandIn {
  explicit StandIn(event::Worker& w) : server(w) {
    server.route("POST", std::string(kTokenReviewPath),
                 [this](const api::Request& req, std::shared_ptr<api::Response> r) {
                   ++requests;
                   authorization = std::string(req.headers->get("authorization").value_or(""));
                   body = nlohmann::json::parse(req.body, nullptr, false);
                   std::string token = body["spec"]["token"].get<std::string>();
                   if (token == "web-token") {
                     r->send(201, "application/json", kAuthenticated);
                   } else if (token == "alice-token") {
                     r->send(201, "application/json", kNotServiceAccount);
                   } else if (token == "forbidden-token") {
                     r->send(403, "application/json", kForbidden);
                   } else {
                     r->send(201, "application/json", kRejected);
                   }
                 });
  }
  api::Server server;
  int requests = 0;
  std::string authorization;
  nlohmann::json body;
};

TokenResult review(event::Worker& w, TokenValidator& v, const std::string& token) {
  std::optional<TokenResult> got;
  v.validate(token, [&](TokenResult r) { got = std::move(r); });
  REQUIRE(run_until(
      w, [&] { return got.has_value(); }, 5s));
  return *got;
}

TEST_CASE("TokenReview against a stand-in API server", "[identity][token-review]") {
  CredentialFile credential;
  event::Worker w(0);
  {
    StandIn api(w);
    auto bound = api.server.listen(*net::SocketAddress::parse("127.0.0.1:0"));
    REQUIRE(bound.has_value());
    TokenReviewOptions options;
    options.api_server = *bound;
    options.credential_file = credential.path;
    options.request_timeout = 2s;
    auto v = TokenReviewValidator::open(w, options);
    REQUIRE(v.has_value());

    SECTION("an authenticated ServiceAccount token gives its identity") {
      auto who = review(w, **v, "web-token");
      REQUIRE(who.has_value());
      CHECK(*who == tls::ServiceAccountIdentity{"default", "web"});
      // What the real API server needs: our bearer credential and a TokenReview for our audience.
      CHECK(api.authorization == "Bearer our-sa-token");
      CHECK(api.body["apiVersion"] == "authentication.k8s.io/v1");
      CHECK(api.body["kind"] == "TokenReview");
      CHECK(api.body["spec"]["token"] == "web-token");
      CHECK(api.body["spec"]["audiences"] == nlohmann::json::array({"identity.lmesh.io"}));
    }
    SECTION("a rejected token is unauthenticated, with Kubernetes' reason") {
      auto who = review(w, **v, "garbage");
      REQUIRE(!who.has_value());
      CHECK(who.error().failure == TokenFailure::kUnauthenticated);
      CHECK(who.error().detail.find("invalid bearer token") != std::string::npos);
    }
    SECTION("a user that is not a ServiceAccount is unauthenticated") {
      auto who = review(w, **v, "alice-token");
      REQUIRE(!who.has_value());
      CHECK(who.error().failure == TokenFailure::kUnauthenticated);
      CHECK(who.error().detail.find("alice@example.com") != std::string::npos);
    }
    SECTION("the API server refusing us is unavailability, not the client's fault") {
      auto who = review(w, **v, "forbidden-token");
      REQUIRE(!who.has_value());
      CHECK(who.error().failure == TokenFailure::kUnavailable);
      CHECK(who.error().detail.find("403") != std::string::npos);
    }
    SECTION("a token that could smuggle a header is refused without asking") {
      auto who = review(w, **v, "a\r\nx-evil: 1");
      REQUIRE(!who.has_value());
      CHECK(who.error().failure == TokenFailure::kUnauthenticated);
      CHECK(api.requests == 0);
    }
    v->reset();
    api.server.close();
    // While the server still exists: its connections tell it when they have closed.
    stop_and_close(w);
  }
}

TEST_CASE("an unreachable API server is unavailability", "[identity][token-review]") {
  CredentialFile credential;
  event::Worker w(0);
  {
    // A port that was just free: nothing listens there.
    net::SocketAddress nowhere;
    {
      api::Server probe(w);
      auto bound = probe.listen(*net::SocketAddress::parse("127.0.0.1:0"));
      REQUIRE(bound.has_value());
      nowhere = *bound;
      probe.close();
    }
    TokenReviewOptions options;
    options.api_server = nowhere;
    options.credential_file = credential.path;
    auto v = TokenReviewValidator::open(w, options);
    REQUIRE(v.has_value());
    auto who = review(w, **v, "web-token");
    REQUIRE(!who.has_value());
    CHECK(who.error().failure == TokenFailure::kUnavailable);
    v->reset();
  }
  stop_and_close(w);
}

TEST_CASE("dropping the validator cancels a review in flight", "[identity][token-review]") {
  CredentialFile credential;
  event::Worker w(0);
  {
    api::Server silent(w);  // takes the request and never answers
    std::shared_ptr<api::Response> held;
    silent.route("POST", std::string(kTokenReviewPath),
                 [&](const api::Request&, std::shared_ptr<api::Response> r) { held = r; });
    auto bound = silent.listen(*net::SocketAddress::parse("127.0.0.1:0"));
    REQUIRE(bound.has_value());
    TokenReviewOptions options;
    options.api_server = *bound;
    options.credential_file = credential.path;
    auto v = TokenReviewValidator::open(w, options);
    REQUIRE(v.has_value());
    bool called = false;
    (*v)->validate("web-token", [&](TokenResult) { called = true; });
    REQUIRE(run_until(
        w, [&] { return held != nullptr; }, 5s));
    v->reset();
    net::testing::run_for(w, 50ms);
    CHECK(!called);
    held.reset();
    silent.close();
    stop_and_close(w);
  }
}

TEST_CASE("a missing credential file fails at open", "[identity][token-review]") {
  event::Worker w(0);
  {
    TokenReviewOptions options;
    options.api_server = *net::SocketAddress::parse("127.0.0.1:1");
    options.credential_file = "/nonexistent/lmesh/token";
    auto v = TokenReviewValidator::open(w, options);
    REQUIRE(!v.has_value());
    CHECK(v.error().describe().find("/nonexistent/lmesh/token") != std::string::npos);
  }
  stop_and_close(w);
}

}  // namespace
}  // namespace lmesh::identity
