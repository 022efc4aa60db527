// The token file parser (src/identity/token_file.h) and RFC 3339 times (rfc3339.h).
#include "identity/token_file.h"

#include <catch2/catch.hpp>

#include "identity/rfc3339.h"

namespace lmesh::identity {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

TEST_CASE("RFC 3339: parse and format", "[identity][rfc3339]") {
  auto t = parse_rfc3339("2030-01-02T03:04:05Z");
  REQUIRE(t.has_value());
  CHECK(format_rfc3339(*t) == "2030-01-02T03:04:05Z");
  CHECK(system_clock::to_time_t(*t) == 1893553445);
  // An offset is subtracted to get UTC; fractions are dropped.
  CHECK(parse_rfc3339("2030-01-02T04:04:05.123+01:00") == t);
  CHECK(parse_rfc3339("2030-01-01T22:04:05-05:00") == t);
  CHECK(parse_rfc3339("2030-01-02t03:04:05z") == t);
  for (const char* bad :
       {"", "2030-01-02", "2030-01-02T03:04:05", "2030-13-02T03:04:05Z", "2030-02-30T03:04:05Z",
        "2030-01-02T24:04:05Z", "2030-01-02T03:04:05Zx", "2030-01-02 03:04:05Z",
        "2030-01-02T03:04:05+0100", "2030-01-02T03:04:05.Z"}) {
    INFO(bad);
    CHECK(!parse_rfc3339(bad).has_value());
  }
  CHECK(format_rfc3339(system_clock::time_point{}) == "1970-01-01T00:00:00Z");
  // "Never" written as a far year stays in the future instead of overflowing into the past.
  auto never = parse_rfc3339("9999-12-31T23:59:59Z");
  REQUIRE(never.has_value());
  CHECK(*never == system_clock::time_point::max());
  CHECK(*parse_rfc3339("2999-01-01T00:00:00Z") > system_clock::now());
}

TEST_CASE("a token file with comments, blank lines and expiries", "[identity][tokens]") {
  auto table = parse_token_file(
      "# bootstrap tokens\n"
      "\n"
      "   # an indented comment\n"
      "tok-web default/web\n"
      "tok-db\tprod/db   expires=2030-01-02T03:04:05Z\r\n"
      "  tok-x  a-b/c-d  \n",
      "tokens.txt");
  REQUIRE(table.has_value());
  CHECK(table->size() == 3);
  const TokenEntry* web = table->find("tok-web");
  REQUIRE(web != nullptr);
  CHECK(web->identity == tls::ServiceAccountIdentity{"default", "web"});
  CHECK(!web->expires.has_value());
  const TokenEntry* db = table->find("tok-db");
  REQUIRE(db != nullptr);
  CHECK(db->identity.dns_name() == "db.prod.serviceaccount.identity.lmesh.cluster.local");
  REQUIRE(db->expires.has_value());
  CHECK(format_rfc3339(*db->expires) == "2030-01-02T03:04:05Z");
  CHECK(table->find("tok-x") != nullptr);
  CHECK(table->find("tok-we") == nullptr);    // a prefix is not the token
  CHECK(table->find("tok-webb") == nullptr);  // nor is a longer one
  CHECK(table->find("") == nullptr);
}

TEST_CASE("a bad line is an error naming the file and the line", "[identity][tokens]") {
  struct Case {
    const char* text;
    const char* where;
    const char* what;
  };
  for (const Case& k : {
           Case{"ok default/web\nlonely\n", "t.txt:2:", "expected"},
           Case{"ok default/web\n\nt2 default\n", "t.txt:3:", "NAMESPACE/SERVICEACCOUNT"},
           Case{"t default/Web\n", "t.txt:1:", "NAMESPACE/SERVICEACCOUNT"},
           Case{"t default/web expires=tomorrow\n", "t.txt:1:", "RFC 3339"},
           Case{"t default/web ttl=1h\n", "t.txt:1:", "unknown attribute"},
           Case{"t default/web expires=2030-01-02T03:04:05Z extra\n", "t.txt:1:", "expected"},
           Case{"# c\nt default/web\nt other/sa\n", "t.txt:3:", "earlier line"},
           Case{"t\x01x default/web\n", "t.txt:1:", "token"},
       }) {
    auto table = parse_token_file(k.text, "t.txt");
    REQUIRE(!table.has_value());
    INFO(table.error().describe());
    CHECK(table.error().describe().find(k.where) != std::string::npos);
    CHECK(table.error().describe().find(k.what) != std::string::npos);
  }
}

TEST_CASE("an empty file is an empty table", "[identity][tokens]") {
  auto table = parse_token_file("# nobody yet\n", "t");
  REQUIRE(table.has_value());
  CHECK(table->size() == 0);
}

TEST_CASE("secret_equal compares lengths and every byte", "[identity][tokens]") {
  CHECK(secret_equal("abc", "abc"));
  CHECK(!secret_equal("abc", "abd"));
  CHECK(!secret_equal("abc", "xbc"));
  CHECK(!secret_equal("abc", "ab"));
  CHECK(secret_equal("", ""));
  CHECK(!secret_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

}  // namespace
}  // namespace lmesh::identity
