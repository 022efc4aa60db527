// YAML -> JSON with a line per JSON Pointer (src/destination/yaml_json.h): plain scalars take
// their YAML 1.2 core type, quoted ones stay strings, lines are the keys' lines, and syntax
// errors carry the line yaml-cpp saw them at.
#include "destination/yaml_json.h"

#include <cmath>

#include <catch2/catch.hpp>

namespace lmesh::destination {
namespace {

using nlohmann::json;

YamlDocument convert(const std::string& text) {
  auto doc = yaml_to_json(text);
  INFO((doc ? std::string() : doc.error().message));
  REQUIRE(doc.has_value());
  return std::move(*doc);
}

YamlError convert_error(const std::string& text) {
  auto doc = yaml_to_json(text);
  REQUIRE(!doc.has_value());
  return doc.error();
}

TEST_CASE("plain scalars are typed, quoted ones are strings", "[destination][yaml]") {
  auto doc = convert(
      "int: 500\n"
      "quoted: \"500\"\n"
      "single: '500'\n"
      "negative: -12\n"
      "hex: 0x1F\n"
      "octal: 0o17\n"
      "float: 0.25\n"
      "exp: 1e3\n"
      "yes_is_text: yes\n"
      "bool: true\n"
      "False: False\n"
      "quoted_bool: \"true\"\n"
      "null_value: null\n"
      "tilde: ~\n"
      "empty:\n"
      "quoted_null: \"null\"\n"
      "text: web.default.svc.cluster.local:8080\n"
      "addr: 198.18.0.12:8080\n"
      "version: 1.2.3\n"
      "big: 18446744073709551615\n"
      "huge: 0o7777777777777777777777777\n"
      "tagged: !!str 12\n");
  const json& j = doc.value;
  CHECK(j["int"] == 500);
  CHECK(j["int"].is_number_integer());
  CHECK(j["quoted"] == "500");
  CHECK(j["single"] == "500");
  CHECK(j["negative"] == -12);
  CHECK(j["hex"] == 31);
  CHECK(j["octal"] == 15);
  CHECK(j["float"] == 0.25);
  CHECK(j["exp"].is_number_float());
  CHECK(j["yes_is_text"] == "yes");
  CHECK(j["bool"] == true);
  CHECK(j["False"] == false);
  CHECK(j["quoted_bool"] == "true");
  CHECK(j["null_value"].is_null());
  CHECK(j["tilde"].is_null());
  CHECK(j["empty"].is_null());
  CHECK(j["quoted_null"] == "null");
  CHECK(j["text"] == "web.default.svc.cluster.local:8080");
  CHECK(j["addr"] == "198.18.0.12:8080");
  CHECK(j["version"] == "1.2.3");
  CHECK(j["big"].is_number_unsigned());
  CHECK(j["huge"].is_number_float());  // beyond 64 bits: a number all the same, never 0
  CHECK(j["huge"].get<double>() > 1e19);
  CHECK(j["tagged"] == "12");
}

TEST_CASE("special floats", "[destination][yaml]") {
  auto doc = convert("a: .inf\nb: -.Inf\nc: .nan\n");
  CHECK(std::isinf(doc.value["a"].get<double>()));
  CHECK(doc.value["b"].get<double>() < 0);
  CHECK(std::isnan(doc.value["c"].get<double>()));

  auto forms = convert("a: 1.\nb: .5\nc: -.5e-3\nd: .\ne: 1e\nf: e5\ng: 1.5.\nh: +2\n");
  CHECK(forms.value["a"] == 1.0);
  CHECK(forms.value["b"] == 0.5);
  CHECK(forms.value["c"] == -0.0005);
  CHECK(forms.value["d"] == ".");
  CHECK(forms.value["e"] == "1e");
  CHECK(forms.value["f"] == "e5");
  CHECK(forms.value["g"] == "1.5.");
  CHECK(forms.value["h"] == 2);
}

TEST_CASE("JSON is YAML: a JSON file converts as it is", "[destination][yaml]") {
  std::string text =
      R"({"services": {"web:80": {"endpoints": [{"addr": "1.2.3.4:80", "weight": 2}]}}})";
  auto doc = convert(text);
  CHECK(doc.value == json::parse(text));
}

TEST_CASE("every pointer maps to its key's line", "[destination][yaml]") {
  auto doc = convert(
      "# a comment\n"                            // 1
      "services:\n"                              // 2
      "  web:8080:\n"                            // 3
      "    endpoints:\n"                         // 4
      "      - addr: 1.2.3.4:80\n"               // 5
      "        weight: 2\n"                      // 6
      "      - {addr: 1.2.3.5:80, weight: 3}\n"  // 7
      "    profile:\n"                           // 8
      "      routes:\n"                          // 9
      "        - name: a\n"                      // 10
      "\n"                                       // 11
      "          timeout_ms: 5\n"                // 12
      "  a/b~c:1: {}\n");                        // 13
  const SourceMap& m = doc.lines;
  CHECK(m.line_of("/services") == 2);
  CHECK(m.line_of("/services/web:8080") == 3);
  CHECK(m.line_of("/services/web:8080/endpoints") == 4);
  CHECK(m.line_of("/services/web:8080/endpoints/0") == 5);
  CHECK(m.line_of("/services/web:8080/endpoints/0/weight") == 6);
  CHECK(m.line_of("/services/web:8080/endpoints/1/weight") == 7);
  CHECK(m.line_of("/services/web:8080/profile/routes/0/timeout_ms") == 12);
  // Missing fields are reported where their object is.
  CHECK(m.line_of("/services/web:8080/profile/routes/0/missing") == 10);
  CHECK(m.line_of("/services/web:8080/profile/routes/0/missing/deeper") == 10);
  CHECK(m.line_of("/services/a~1b~0c:1") == 13);
  CHECK(m.line_of("/nothing") == 2);  // the document's own line: where its first key is
}

TEST_CASE("YAML errors carry their line", "[destination][yaml]") {
  auto syntax = convert_error("services:\n  web:8080:\n    endpoints: [\n      {addr: 1\n");
  CHECK(syntax.line >= 4);
  CHECK(syntax.message.starts_with("not valid YAML: "));

  auto indent = convert_error("a: 1\n b: 2\nc: [\n");
  CHECK(indent.line == 2);

  auto tab = convert_error("a:\n\t- b\n");
  CHECK(tab.line == 2);

  auto twice = convert_error("services:\n  web:80: {}\n  other:80: {}\n  web:80: {}\n");
  CHECK(twice.line == 4);
  CHECK(twice.pointer == "/services/web:80");
  CHECK(twice.message == "is given twice");

  auto complex_key = convert_error("? [a, b]\n: 1\n");
  CHECK(complex_key.message == "has a key that is not a string");
}

TEST_CASE("alias bombs and deep nesting are bounded", "[destination][yaml]") {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'i'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + prev;
    bomb += "]\n";
    prev = c;
  }
  auto e = convert_error(bomb);
  CHECK(e.message.find("values (after expanding aliases)") != std::string::npos);

  std::string deep(200, '[');
  auto d = convert_error(deep + std::string(200, ']'));
  CHECK(!d.message.empty());
}

TEST_CASE("an empty document is null", "[destination][yaml]") {
  CHECK(convert("").value.is_null());
  CHECK(convert("# only a comment\n").value.is_null());
}

}  // namespace
}  // namespace lmesh::destination
