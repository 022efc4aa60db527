// `lmesh stat`'s table and JSON (src/cli/stat_table.h), the figures it prints
// (src/cli/figures.h) and the column layout it shares with `top` (src/cli/text_table.h).
#include "cli/stat_table.h"

#include <string>

#include <catch2/catch.hpp>

#include "cli/figures.h"
#include "cli/text_table.h"

namespace lmesh::cli {
namespace {

TEST_CASE("figures are printed Linkerd's way", "[cli][stat]") {
  CHECK(format_percent(0.995) == "99.50%");
  CHECK(format_percent(1.0) == "100.00%");
  CHECK(format_percent(0) == "0.00%");
  CHECK(format_rps(20) == "20.0rps");
  CHECK(format_rps(0.04) == "0.0rps");
  CHECK(format_ms(2.14) == "2.1ms");
  CHECK(format_ms(0) == "0.0ms");
  CHECK(format_ms(9.94) == "9.9ms");
  CHECK(format_ms(9.96) == "10ms");  // rounds up past the one-decimal range
  CHECK(format_ms(12.4) == "12ms");
  CHECK(format_ms(1234.6) == "1235ms");
  CHECK(format_latency_us(0) == "0µs");
  CHECK(format_latency_us(999) == "999µs");
  CHECK(format_latency_us(1000) == "1.0ms");
  CHECK(format_latency_us(25'400) == "25ms");
}

TEST_CASE("render_table pads by display width, without trailing spaces", "[cli][stat]") {
  CHECK(render_table({{"A", Align::kLeft}, {"BB", Align::kRight}, {"C", Align::kLeft}},
                     {{"xyz", "1", ""}, {"µ", "12345", "end"}}) ==
        "A        BB   C\n"
        "xyz       1\n"
        "µ     12345   end\n");
  CHECK(display_width("980µs") == 5);
}

constexpr char kBody[] = R"({"window_s":60,"rows":[
  {"name":"web","namespace":"default","kind":"deploy","meshed":"2/2","requests":1200,
   "success_rate":0.995,"rps":20.0,"latency_ms_p50":2.1,"latency_ms_p95":9.0,
   "latency_ms_p99":12.0,"tcp_connections":4},
  {"name":"idle","namespace":"default","kind":"deploy","meshed":"0/1","requests":0,
   "success_rate":null,"rps":0,"latency_ms_p50":null,"tcp_connections":2}]})";

TEST_CASE("the stat table, with dashes for a row without requests", "[cli][stat]") {
  auto rows = parse_stat_rows(kBody);
  REQUIRE(rows.has_value());
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].requests == 1200);
  CHECK(!(*rows)[1].success_rate);
  CHECK(render_stat_table(*rows) ==
        "NAME   MESHED   SUCCESS       RPS   LATENCY_P50   LATENCY_P95   LATENCY_P99   TCP_CONN\n"
        "web       2/2    99.50%   20.0rps         2.1ms         9.0ms          12ms          4\n"
        "idle      0/1         -         -             -             -             -          2\n");
}

TEST_CASE("a NAMESPACE column when rows span namespaces", "[cli][stat]") {
  std::vector<StatRow> rows(2);
  rows[0].name = "a";
  rows[0].namespace_name = "one";
  rows[1].name = "b";
  rows[1].namespace_name = "two";
  std::string table = render_stat_table(rows);
  CHECK(table.starts_with("NAMESPACE   NAME   MESHED"));
  CHECK_THAT(table, Catch::Contains("\ntwo         b           -"));
}

TEST_CASE("an empty answer renders the header only", "[cli][stat]") {
  auto rows = parse_stat_rows(R"({"window_s":60,"rows":[]})");
  REQUIRE(rows.has_value());
  CHECK(rows->empty());
}

TEST_CASE("stat -o json prints the rows as the service sent them", "[cli][stat]") {
  auto json = stat_rows_json(R"({"window_s":60,"rows":[{"name":"web","rps":1.5}]})");
  REQUIRE(json.has_value());
  CHECK(*json == "[\n  {\n    \"name\": \"web\",\n    \"rps\": 1.5\n  }\n]\n");
}

TEST_CASE("a malformed answer is an error", "[cli][stat]") {
  for (const char* bad : {"", "[]", "{\"rows\":3}", "{\"window_s\":60}", "{"}) {
    INFO(bad);
    CHECK(!parse_stat_rows(bad).has_value());
    CHECK(!stat_rows_json(bad).has_value());
  }
}

}  // namespace
}  // namespace lmesh::cli
