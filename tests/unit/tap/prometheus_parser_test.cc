// The Prometheus text format as the proxies write it (src/common/metrics/prometheus_text.cc):
// comments, labels with escapes, histograms, special values; and what is refused.
#include <catch2/catch.hpp>

#include <cmath>

#include "common/metrics/prometheus_text.h"
#include "common/metrics/registry.h"
#include "tap/prometheus_parser.h"

namespace lmesh::tap {
namespace {

TEST_CASE("samples, comments, labels with escapes, timestamps") {
  auto samples = parse_prometheus_text(
      "# HELP request_total Requests received\n"
      "# TYPE request_total counter\n"
      "request_total{direction=\"inbound\",authority=\"a\\\\b \\\"q\\\" \\n,}\"} 12\n"
      "\n"
      "  up 1 1700000000000\n"
      "tcp_open_connections{ direction = \"inbound\" , } 3.5\r\n"
      "no_labels{} -2e3\n");
  REQUIRE(samples);
  REQUIRE(samples->size() == 4);
  const PromSample& r = (*samples)[0];
  CHECK(r.name == "request_total");
  CHECK(r.value == 12);
  CHECK(r.label("direction") == "inbound");
  CHECK(r.label("authority") == "a\\b \"q\" \n,}");
  CHECK_FALSE(r.label("tls"));
  CHECK((*samples)[1].name == "up");
  CHECK((*samples)[2].label("direction") == "inbound");
  CHECK((*samples)[2].value == 3.5);
  CHECK((*samples)[3].value == -2000);
}

TEST_CASE("histogram buckets and special values") {
  auto samples = parse_prometheus_text(
      "response_latency_ms_bucket{direction=\"inbound\",le=\"10\"} 4\n"
      "response_latency_ms_bucket{direction=\"inbound\",le=\"+Inf\"} 5\n"
      "response_latency_ms_sum{direction=\"inbound\"} 31.5\n"
      "response_latency_ms_count{direction=\"inbound\"} 5\n"
      "g_pos +Inf\n"
      "g_neg -Inf\n"
      "g_nan NaN\n");
  REQUIRE(samples);
  REQUIRE(samples->size() == 7);
  CHECK((*samples)[1].label("le") == "+Inf");
  CHECK(std::isinf(*parse_prometheus_value(*(*samples)[1].label("le"))));
  CHECK((*samples)[4].value == std::numeric_limits<double>::infinity());
  CHECK((*samples)[5].value == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan((*samples)[6].value));
}

TEST_CASE("malformed lines fail the text and name the line") {
  for (const char* bad : {"x{a=\"1\" 2\n", "x{a=1} 2\n", "x{a=\"\\t\"} 1\n", "x 1 2 3\n", "x abc\n",
                          "x{=\"1\"} 1\n", "9x 1\n", "x\n", "x{a=\"1\"}1\n", "x{a=\"1\"\n"}) {
    INFO(bad);
    auto r = parse_prometheus_text(std::string("ok 1\n") + bad);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().describe(), Catch::StartsWith("line 2:"));
  }
}

TEST_CASE("reads back what lmesh's own metrics writer produces") {
  metrics::Registry registry;
  auto& family = registry.counter("response_total", "Responses", {"direction", "authority"});
  family.get({"inbound", "we\"ird\\name\nx"}).inc(7);
  const double bounds[] = {1, 5};
  auto& hist = registry.histogram("response_latency_ms", "Latency", {"direction"}, bounds);
  hist.get({"inbound"}).observe(3);
  hist.get({"inbound"}).observe(100);
  auto samples = parse_prometheus_text(metrics::render_prometheus(registry.snapshot()));
  REQUIRE(samples);
  bool found_counter = false;
  bool found_inf = false;
  for (const PromSample& s : *samples) {
    if (s.name == "response_total") {
      found_counter = true;
      CHECK(s.label("authority") == "we\"ird\\name\nx");
      CHECK(s.value == 7);
    }
    if (s.name == "response_latency_ms_bucket" && s.label("le") == "+Inf") {
      found_inf = true;
      CHECK(s.value == 2);
    }
  }
  CHECK(found_counter);
  CHECK(found_inf);
}

}  // namespace
}  // namespace lmesh::tap
