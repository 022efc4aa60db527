// Linkerd's table and the JSON document (src/cli/check/check_report.h).
#include "cli/check/check_report.h"

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

namespace lmesh::cli::check {
namespace {

Report sample() {
  Report r;
  r.categories.push_back(
      {"control-plane",
       {CheckResult::success("lmesh-identity is running"),
        CheckResult::warning("control plane and cli versions match",
                             "the mesh was started by lmesh 0.0.9", "restart the mesh")}});
  r.categories.push_back(
      {"data-plane",
       {CheckResult::failure("lmesh-proxy of default/web-0 is ready",
                             "GET http://127.0.0.1:4191/ready: connection refused",
                             "its log, /s/logs/web-0.default.proxy.log")}});
  return r;
}

TEST_CASE("table: categories, marks, indented reasons and hints, the status", "[cli][check]") {
  CHECK(render_table(sample(), false) ==
        "control-plane\n"
        "-------------\n"
        "\u221a lmesh-identity is running\n"
        "\u203c control plane and cli versions match\n"
        "    the mesh was started by lmesh 0.0.9\n"
        "    see: restart the mesh\n"
        "\n"
        "data-plane\n"
        "----------\n"
        "\u00d7 lmesh-proxy of default/web-0 is ready\n"
        "    GET http://127.0.0.1:4191/ready: connection refused\n"
        "    see: its log, /s/logs/web-0.default.proxy.log\n"
        "\n"
        "Status check results are \u00d7\n");
}

TEST_CASE("table: warnings alone pass; colour only when asked", "[cli][check]") {
  Report r = sample();
  r.categories.pop_back();
  CHECK(r.success());
  std::string plain = render_table(r, false);
  CHECK(plain.ends_with("Status check results are \u221a\n"));
  CHECK(plain.find('\x1b') == std::string::npos);
  std::string coloured = render_table(r, true);
  CHECK(coloured.find("\x1b[32m\u221a\x1b[0m lmesh-identity is running") != std::string::npos);
  CHECK(coloured.find("\x1b[33m\u203c\x1b[0m") != std::string::npos);
}

TEST_CASE("table: a reason of several lines keeps its indentation", "[cli][check]") {
  Report r;
  r.categories.push_back({"x", {CheckResult::failure("d", "one\ntwo", "")}});
  CHECK(render_table(r, false) ==
        "x\n-\n\u00d7 d\n    one\n    two\n\nStatus check results are \u00d7\n");
}

TEST_CASE("json: success, categories, checks; error and hint only when not a success",
          "[cli][check]") {
  auto doc = nlohmann::json::parse(render_json(sample()));
  CHECK(doc["success"] == false);
  REQUIRE(doc["categories"].size() == 2);
  const auto& cp = doc["categories"][0];
  CHECK(cp["name"] == "control-plane");
  CHECK(cp["checks"][0] ==
        nlohmann::json{{"description", "lmesh-identity is running"}, {"result", "success"}});
  CHECK(cp["checks"][1]["result"] == "warning");
  CHECK(cp["checks"][1]["hint"] == "restart the mesh");
  const auto& ready = doc["categories"][1]["checks"][0];
  CHECK(ready["result"] == "error");
  CHECK(ready["error"] == "GET http://127.0.0.1:4191/ready: connection refused");
  // "success" comes first, as a person reading the document wants it.
  CHECK(render_json(sample()).starts_with("{\n  \"success\": false,"));
}

TEST_CASE("the first failure is the first error, not a warning", "[cli][check]") {
  Report r = sample();
  REQUIRE(r.first_failure() != nullptr);
  CHECK(r.first_failure()->description == "lmesh-proxy of default/web-0 is ready");
}

}  // namespace
}  // namespace lmesh::cli::check
