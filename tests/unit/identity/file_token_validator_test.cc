// FileTokenValidator (src/identity/file_token_validator.h) on a real loop with a real file:
// lookups, expiry, and reloads when the file changes, keeping the last good table when an
// edit is bad.
#include "identity/file_token_validator.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>

#include <catch2/catch.hpp>

#include "common/net/loop_helpers.h"

namespace lmesh::identity {
namespace {

using namespace std::chrono_literals;
using net::testing::run_until;
using net::testing::stop_and_close;

// A file in a fresh temporary directory, removed afterwards.
struct TempFile {
  TempFile() {
    char dir_template[] = "/tmp/lmesh-tokens-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    dir = dir_template;
    path = dir + "/tokens";
  }
  ~TempFile() {
    std::remove(path.c_str());
    ::rmdir(dir.c_str());
  }
  // Written aside and renamed into place, as editors and config managers do, so the poll
  // never sees half a file.
  void write(const std::string& text) const {
    std::string tmp = path + ".new";
    std::ofstream(tmp, std::ios::trunc) << text;
    REQUIRE(std::rename(tmp.c_str(), path.c_str()) == 0);
  }
  std::string dir;
  std::string path;
};

// Validates `token` and returns what the validator answered.
TokenResult validate_now(TokenValidator& v, const std::string& token) {
  std::optional<TokenResult> got;
  v.validate(token, [&](TokenResult r) { got = std::move(r); });
  REQUIRE(got.has_value());  // the file validator answers at once
  return *got;
}

TEST_CASE("tokens from the file: known, unknown, expired", "[identity][file-tokens]") {
  TempFile f;
  f.write(
      "web-token default/web\n"
      "old-token default/old expires=2020-01-01T00:00:00Z\n"
      "future-token default/new expires=2999-01-01T00:00:00Z\n");
  event::Worker w(0);
  {
    auto v = FileTokenValidator::open(w, f.path, 20ms);
    REQUIRE(v.has_value());
    auto web = validate_now(**v, "web-token");
    REQUIRE(web.has_value());
    CHECK(*web == tls::ServiceAccountIdentity{"default", "web"});
    auto unknown = validate_now(**v, "nope");
    REQUIRE(!unknown.has_value());
    CHECK(unknown.error().failure == TokenFailure::kUnauthenticated);
    CHECK(unknown.error().detail == "unknown token");
    auto old = validate_now(**v, "old-token");
    REQUIRE(!old.has_value());
    CHECK(old.error().failure == TokenFailure::kUnauthenticated);
    CHECK(old.error().detail.find("expired") != std::string::npos);
    CHECK(validate_now(**v, "future-token").has_value());
  }
  stop_and_close(w);
}

TEST_CASE("a bad or missing file fails at open, naming file and line", "[identity][file-tokens]") {
  TempFile f;
  event::Worker w(0);
  {
    auto missing = FileTokenValidator::open(w, f.path, 20ms);
    REQUIRE(!missing.has_value());
    CHECK(missing.error().describe().find(f.path) != std::string::npos);
    f.write("a default/web\nbroken\n");
    auto bad = FileTokenValidator::open(w, f.path, 20ms);
    REQUIRE(!bad.has_value());
    CHECK(bad.error().describe().find(f.path + ":2:") != std::string::npos);
  }
  stop_and_close(w);
}

TEST_CASE("the file is reloaded when it changes; a bad edit keeps the last good table",
          "[identity][file-tokens]") {
  TempFile f;
  f.write("first default/web\n");
  event::Worker w(0);
  {
    int good_reloads = 0;
    int bad_reloads = 0;
    std::string last_error;
    auto opened = FileTokenValidator::open(w, f.path, 20ms, [&](const Result<void>& r) {
      if (r) {
        ++good_reloads;
      } else {
        ++bad_reloads;
        last_error = r.error().describe();
      }
    });
    REQUIRE(opened.has_value());
    FileTokenValidator& v = **opened;
    CHECK(!validate_now(v, "second").has_value());

    // An edit adds a token: it works once the poll has seen the change.
    f.write("first default/web\nsecond prod/db\n");
    REQUIRE(run_until(
        w, [&] { return good_reloads == 1; }, 5s));
    auto second = validate_now(v, "second");
    REQUIRE(second.has_value());
    CHECK(*second == tls::ServiceAccountIdentity{"prod", "db"});

    // A broken edit is reported and the old table keeps serving.
    f.write("first default/web\nsecond prod/db\nthird\n");
    REQUIRE(run_until(
        w, [&] { return bad_reloads == 1; }, 5s));
    CHECK(last_error.find(":3:") != std::string::npos);
    CHECK(validate_now(v, "first").has_value());
    CHECK(validate_now(v, "second").has_value());
    CHECK(v.size() == 2);

    // An unchanged file is not read again.
    net::testing::run_for(w, 100ms);
    CHECK(good_reloads == 1);
    CHECK(bad_reloads == 1);

    // The fix is picked up, and a removed token stops working.
    f.write("third default/web\n");
    REQUIRE(run_until(
        w, [&] { return good_reloads == 2; }, 5s));
    CHECK(validate_now(v, "third").has_value());
    CHECK(!validate_now(v, "first").has_value());
  }
  stop_and_close(w);
}

}  // namespace
}  // namespace lmesh::identity
