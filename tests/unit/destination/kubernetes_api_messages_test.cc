// The Kubernetes API's envelopes (src/destination/kubernetes/api_messages.h): recorded watch
// lines (ADDED/MODIFIED, BOOKMARK, ERROR 410), LIST pages, error Statuses, and the malformed
// lines a watch must reject without stopping.
#include "destination/kubernetes/api_messages.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace lmesh::destination::kubernetes {
namespace {

std::string fixture_text(const std::string& name) {
  std::ifstream in(std::string(LMESH_KUBE_FIXTURES) + "/" + name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> recorded_lines() {
  std::vector<std::string> lines;
  std::istringstream in(fixture_text("watch_events.jsonl"));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.size() == 3);
  return lines;
}

std::string error_of(std::string_view line) {
  auto e = parse_watch_event(line);
  REQUIRE_FALSE(e.has_value());
  return e.error().describe();
}

TEST_CASE("recorded watch events", "[kubernetes][watch]") {
  auto lines = recorded_lines();

  auto modified = parse_watch_event(lines[0]);
  REQUIRE(modified);
  CHECK(modified->type == EventType::kModified);
  CHECK(modified->resource_version == "48302");
  CHECK(modified->object["metadata"]["name"] == "web-8xk2p");
  CHECK_FALSE(is_expired(*modified));

  auto bookmark = parse_watch_event(lines[1]);
  REQUIRE(bookmark);
  CHECK(bookmark->type == EventType::kBookmark);
  CHECK(bookmark->resource_version == "48391");

  auto gone = parse_watch_event(lines[2]);
  REQUIRE(gone);
  CHECK(gone->type == EventType::kError);
  CHECK(gone->resource_version.empty());
  CHECK(is_expired(*gone));
  CHECK(gone->status.describe() == "410 Expired: too old resource version: 48213 (48399)");
}

TEST_CASE("ADDED and DELETED carry the object; other errors are not expiry",
          "[kubernetes][watch]") {
  auto added = parse_watch_event(
      R"({"type":"ADDED","object":{"metadata":{"name":"a","namespace":"b","resourceVersion":"7"}}})");
  REQUIRE(added);
  CHECK(added->type == EventType::kAdded);
  CHECK(added->resource_version == "7");
  auto deleted = parse_watch_event(R"({"type":"DELETED","object":{"metadata":{"name":"a"}}})");
  REQUIRE(deleted);
  CHECK(deleted->type == EventType::kDeleted);
  CHECK(deleted->resource_version.empty());
  auto error = parse_watch_event(
      R"({"type":"ERROR","object":{"kind":"Status","code":500,"message":"etcdserver: leader changed"}})");
  REQUIRE(error);
  CHECK_FALSE(is_expired(*error));
  CHECK(error->status.describe() == "500: etcdserver: leader changed");
}

TEST_CASE("malformed watch lines are rejected with a reason", "[kubernetes][watch]") {
  CHECK(error_of("this is not json") == "/: not JSON");
  CHECK(error_of(R"({"type":"ADDED","object":{)") == "/: not JSON");
  CHECK(error_of("[1,2]") == "/: must be an object");
  CHECK(error_of(R"({"object":{}})") == "/type: is required");
  CHECK(error_of(R"({"type":7,"object":{}})") == "/type: must be a string");
  CHECK(error_of(R"({"type":"UPDATED","object":{}})") ==
        "/type: \"UPDATED\" is not ADDED, MODIFIED, DELETED, BOOKMARK or ERROR");
  CHECK(error_of(R"({"type":"ADDED"})") == "/object: is required");
  CHECK(error_of(R"({"type":"ADDED","object":"web"})") == "/object: must be an object");
  CHECK(error_of(R"({"type":"BOOKMARK","object":{"metadata":{}}})") ==
        "/object/metadata/resourceVersion: is required in a BOOKMARK");
  CHECK(error_of(R"({"type":"MODIFIED","object":{"metadata":{"resourceVersion":12}}})") ==
        "/object/metadata/resourceVersion: must be a string");
  CHECK(error_of(R"({"type":"MODIFIED","object":{"metadata":[]}})") ==
        "/object/metadata: must be an object");
}

TEST_CASE("LIST pages", "[kubernetes][list]") {
  auto services = parse_list(fixture_text("services.json"));
  REQUIRE(services);
  CHECK(services->resource_version == "48213");
  CHECK(services->continue_token.empty());
  CHECK(services->items.size() == 4);

  auto profiles = parse_list(fixture_text("serviceprofiles.json"));  // "continue": ""
  REQUIRE(profiles);
  CHECK(profiles->continue_token.empty());

  auto paged = parse_list(
      R"({"kind":"PodList","metadata":{"resourceVersion":"9","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ=="},"items":null})");
  REQUIRE(paged);
  CHECK(paged->continue_token == "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ==");
  CHECK(paged->items.empty());

  CHECK(parse_list(R"({"items":[]})").error().describe() ==
        "/metadata/resourceVersion: is required");
  CHECK(parse_list(R"({"metadata":{"resourceVersion":"1"},"items":{}})").error().describe() ==
        "/items: must be an array");
  CHECK(parse_list("<html>").error().describe() == "/: not JSON");
}

TEST_CASE("error responses", "[kubernetes][status]") {
  ApiStatus forbidden = parse_status(
      403,
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"services is forbidden: User \"system:serviceaccount:lmesh-system:lmesh-destination\" cannot list resource \"services\" in API group \"\" at the cluster scope","reason":"Forbidden","details":{"kind":"services"},"code":403})");
  CHECK(forbidden.code == 403);
  CHECK(forbidden.describe().starts_with("403 Forbidden: services is forbidden: User"));
  ApiStatus html = parse_status(502, "<html>bad gateway</html>\n");
  CHECK(html.describe() == "502: <html>bad gateway</html>");
}

}  // namespace
}  // namespace lmesh::destination::kubernetes
