#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "common/metrics/build_info.h"
#include "common/metrics/names.h"
#include "common/metrics/process_metrics.h"
#include "common/metrics/prometheus_text.h"
#include "common/metrics/registry.h"
#include "support/counting_new.h"

namespace lmesh::metrics {
namespace {

const SeriesSnapshot& series(const Snapshot& s, std::string_view family,
                             const std::vector<std::string>& labels) {
  const FamilySnapshot* f = s.find(family);
  REQUIRE(f != nullptr);
  const SeriesSnapshot* found = f->find(labels);
  REQUIRE(found != nullptr);
  return *found;
}

TEST_CASE("counter and gauge keep plain values", "[metrics]") {
  Counter c;
  c.inc();
  c.inc(41);
  CHECK(c.value() == 42);

  Gauge g;
  g.inc();
  g.inc(4);
  g.dec(2);
  CHECK(g.value() == 3);
  g.set(-7);
  CHECK(g.value() == -7);
}

TEST_CASE("gauge guard holds +1 for its lifetime", "[metrics]") {
  Gauge g;
  {
    GaugeGuard a(g);
    CHECK(g.value() == 1);
    GaugeGuard b(g);
    CHECK(g.value() == 2);
  }
  CHECK(g.value() == 0);

  SECTION("moving leaves the source inert") {
    GaugeGuard a(g);
    GaugeGuard b(std::move(a));
    CHECK_FALSE(a.active());  // NOLINT(bugprone-use-after-move): checking exactly that
    CHECK(b.active());
    CHECK(g.value() == 1);
    { GaugeGuard c(std::move(b)); }
    CHECK(g.value() == 0);
  }
  SECTION("move assignment gives back what the target held") {
    Gauge other;
    GaugeGuard a(g);
    GaugeGuard b(other);
    b = std::move(a);
    CHECK(g.value() == 1);
    CHECK(other.value() == 0);
    b.reset();
    CHECK(g.value() == 0);
    b.reset();
    CHECK(g.value() == 0);
  }
  SECTION("a default guard holds nothing until assigned") {
    GaugeGuard a;
    CHECK_FALSE(a.active());
    a = GaugeGuard(g);
    CHECK(g.value() == 1);
  }
  CHECK(g.value() == 0);
}

TEST_CASE("histogram buckets are inclusive of their upper bound", "[metrics]") {
  static constexpr double kBounds[] = {1, 2, 5};
  Histogram h(kBounds);
  for (double v : {-3.0, 0.5, 1.0}) h.observe(v);  // le=1
  for (double v : {1.000001, 2.0}) h.observe(v);   // le=2
  h.observe(5.0);                                  // le=5
  h.observe(5.5);                                  // +Inf
  h.observe(1e300);                                // +Inf

  const auto counts = h.bucket_counts();
  REQUIRE(counts.size() == 4);
  CHECK(counts[0] == 3);
  CHECK(counts[1] == 2);
  CHECK(counts[2] == 1);
  CHECK(counts[3] == 2);
  CHECK(h.count() == 8);
  CHECK(h.sum() == Approx(-3.0 + 0.5 + 1.0 + 1.000001 + 2.0 + 5.0 + 5.5 + 1e300));
}

TEST_CASE("latency buckets are linkerd's", "[metrics]") {
  const auto b = latency_ms_buckets();
  REQUIRE(b.size() == 25);
  CHECK(b.front() == 1);
  CHECK(b[5] == 10);
  CHECK(b.back() == 50000);
  CHECK(std::is_sorted(b.begin(), b.end()));
}

TEST_CASE("a family finds the same series for the same labels", "[metrics]") {
  Registry r;
  auto& f = r.counter("request_total", "Requests.", {"direction", "authority"});
  Counter& a = f.get({"outbound", "web:80"});
  a.inc();
  const std::string authority = "web:80";
  CHECK(&f.get({"outbound", authority}) == &a);
  CHECK(&f.get({"inbound", "web:80"}) != &a);

  SECTION("references survive growth of the family") {
    for (int i = 0; i < 1000; ++i) f.get({"outbound", std::to_string(i)}).inc();
    CHECK(&f.get({"outbound", "web:80"}) == &a);
    CHECK(a.value() == 1);
  }
  SECTION("empty and long label values round-trip") {
    f.get({std::string_view(), std::string(200, 'x')}).inc(4);
    const Snapshot s = r.snapshot();
    CHECK(series(s, "request_total", {"", std::string(200, 'x')}).value == 4);
  }
  SECTION("label values cannot collide by concatenation") {
    CHECK(&f.get({"a", "bc"}) != &f.get({"ab", "c"}));
    CHECK(&f.get({std::string_view("a\0b", 3), ""}) != &f.get({"a", std::string_view("b", 1)}));
    const Snapshot s = r.snapshot();
    CHECK(s.find("request_total")->find({std::string("a\0b", 3), ""}) != nullptr);
  }
}

TEST_CASE("the request path does not allocate", "[metrics]") {
  Registry r;
  auto& requests = r.counter("request_total", "Requests.", {"direction", "authority", "tls"});
  auto& latency =
      r.histogram("response_latency_ms", "Latency.", {"direction"}, latency_ms_buckets());
  const std::string authority = "a-rather-long-authority-name.default.svc.cluster.local:8080";
  requests.get({"outbound", authority, "true"});
  latency.get({"outbound"});

  // Read before asserting: Catch may allocate inside CHECK before evaluating its expression.
  size_t before = lmesh::testing::heap_allocations();
  for (int i = 0; i < 100; ++i) {
    requests.get({"outbound", authority, "true"}).inc();
    latency.get({"outbound"}).observe(i * 3.5);
  }
  size_t allocated = lmesh::testing::heap_allocations() - before;
  CHECK(allocated == 0);
  CHECK(requests.get({"outbound", authority, "true"}).value() == 100);

  // The counting works: a new series does allocate.
  before = lmesh::testing::heap_allocations();
  requests.get({"inbound", authority, "true"});
  allocated = lmesh::testing::heap_allocations() - before;
  CHECK(allocated > 0);
}

TEST_CASE("a family's cardinality is bounded", "[metrics]") {
  Registry r;
  auto& f = r.counter("request_total", "Requests.", {"direction", "authority"}, 3);
  for (const char* authority : {"a", "b", "c"}) f.get({"outbound", authority}).inc();
  CHECK(f.size() == 3);

  Counter& d = f.get({"outbound", "d"});
  Counter& e = f.get({"inbound", "e"});
  CHECK(&d == &e);
  d.inc();
  e.inc();
  CHECK(f.size() == 4);  // three series and the overflow series
  CHECK(f.overflowed() == 2);
  const std::string authority = "a-new-authority-every-time.example.com:8080";
  const size_t before = lmesh::testing::heap_allocations();
  for (int i = 0; i < 100; ++i) f.get({"outbound", authority}).inc(0);
  const size_t allocated = lmesh::testing::heap_allocations() - before;
  CHECK(allocated == 0);  // an overflowing label set costs no memory either
  for (int i = 0; i < 100; ++i) f.get({"outbound", std::to_string(i)});
  CHECK(f.size() == 4);

  // Series made before the limit are still found.
  f.get({"outbound", "a"}).inc();
  const Snapshot s = r.snapshot();
  CHECK(series(s, "request_total", {"outbound", "a"}).value == 2);
  CHECK(series(s, "request_total", {"overflow", "overflow"}).value == 2);
}

TEST_CASE("overlong label values are cut at a UTF-8 boundary", "[metrics]") {
  Registry r;
  auto& f = r.counter("request_total", "Requests.", {"authority"});
  // 259 ASCII bytes then a 2-byte character straddling the limit of 260.
  const std::string value = std::string(259, 'a') + "\xC3\xA9" + std::string(100, 'b');
  f.get({value}).inc();
  f.get({std::string(259, 'a') + "\xC3\xA9zzz"}).inc();  // same first 259 bytes: same series
  const Snapshot s = r.snapshot();
  REQUIRE(s.families[0].series.size() == 1);
  CHECK(s.families[0].series[0].label_values[0] == std::string(259, 'a'));
  CHECK(s.families[0].series[0].value == 2);
}

TEST_CASE("a snapshot lists families in order and series sorted", "[metrics]") {
  Registry r;
  auto& b = r.gauge("b_gauge", "B.", {"k"});
  r.counter("a_total", "A.", {});
  b.get({"z"}).set(1);
  b.get({"m"}).set(2);
  b.get({"a"}).set(3);

  const Snapshot s = r.snapshot();
  REQUIRE(s.families.size() == 2);
  CHECK(s.families[0].name == "b_gauge");
  CHECK(s.families[0].type == MetricType::kGauge);
  CHECK(s.families[1].name == "a_total");
  CHECK(s.families[1].series.empty());
  const auto& series = s.families[0].series;
  REQUIRE(series.size() == 3);
  CHECK(series[0].label_values == std::vector<std::string>{"a"});
  CHECK(series[1].label_values == std::vector<std::string>{"m"});
  CHECK(series[2].label_values == std::vector<std::string>{"z"});
}

// The same declarations on every worker, as the proxy makes them.
struct Shard {
  Registry registry;
  Family<Counter>& requests = registry.counter("request_total", "Requests.", {"authority"});
  Family<Gauge>& open = registry.gauge("tcp_open_connections", "Open.", {"peer"});
  Family<Histogram>& latency =
      registry.histogram("response_latency_ms", "Latency.", {"authority"}, kBounds);
  static constexpr double kBounds[] = {10, 100};
};

TEST_CASE("merging shards sums equal series and keeps the others", "[metrics]") {
  Shard w1, w2;
  w1.requests.get({"a"}).inc(2);
  w1.requests.get({"b"}).inc(5);
  w2.requests.get({"b"}).inc(1);
  w2.requests.get({"c"}).inc(7);
  w1.open.get({"src"}).inc(3);
  w2.open.get({"src"}).dec(1);  // a shard below zero still sums right
  w1.latency.get({"a"}).observe(5);
  w2.latency.get({"a"}).observe(50);
  w2.latency.get({"a"}).observe(500);

  Snapshot merged;
  merged.merge(w1.registry.snapshot());
  merged.merge(w2.registry.snapshot());

  REQUIRE(merged.families.size() == 3);
  const auto& requests = merged.find("request_total")->series;
  REQUIRE(requests.size() == 3);
  CHECK(series(merged, "request_total", {"a"}).value == 2);
  CHECK(series(merged, "request_total", {"b"}).value == 6);
  CHECK(series(merged, "request_total", {"c"}).value == 7);
  CHECK(series(merged, "tcp_open_connections", {"src"}).value == 2);
  const SeriesSnapshot& latency = series(merged, "response_latency_ms", {"a"});
  CHECK(latency.bucket_counts == std::vector<uint64_t>{1, 1, 1});
  CHECK(latency.count == 3);
  CHECK(latency.sum == 555);

  SECTION("families only one side has are appended") {
    Registry extra;
    extra.gauge("identity_cert_expiration_timestamp_seconds", "Expiry.", {}).get({}).set(99);
    merged.merge(extra.snapshot());
    REQUIRE(merged.families.size() == 4);
    CHECK(merged.families[3].series.at(0).value == 99);
  }
}

TEST_CASE("render: exact text for a small registry", "[metrics]") {
  Registry r;
  auto& requests = r.counter("request_total", "Total requests.", {"direction", "authority"});
  requests.get({"outbound", "web:80"}).inc(3);
  requests.get({"inbound", "api:8080"}).inc();
  r.gauge("tcp_open_connections", "Open connections.", {}).get({}).inc(2);
  r.counter("http_errors_total", "Errors the proxy answered itself.", {"reason"});
  static constexpr double kBounds[] = {1, 2.5};
  auto& latency = r.histogram("response_latency_ms", "Latency.", {"direction"}, kBounds);
  for (double v : {1.0, 2.0, 7.25}) latency.get({"outbound"}).observe(v);
  r.histogram("empty_ms", "No labels.", {}, kBounds).get({}).observe(0.5);

  CHECK(render_prometheus(r.snapshot()) ==
        "# HELP request_total Total requests.\n"
        "# TYPE request_total counter\n"
        "request_total{direction=\"inbound\",authority=\"api:8080\"} 1\n"
        "request_total{direction=\"outbound\",authority=\"web:80\"} 3\n"
        "# HELP tcp_open_connections Open connections.\n"
        "# TYPE tcp_open_connections gauge\n"
        "tcp_open_connections 2\n"
        "# HELP http_errors_total Errors the proxy answered itself.\n"
        "# TYPE http_errors_total counter\n"
        "# HELP response_latency_ms Latency.\n"
        "# TYPE response_latency_ms histogram\n"
        "response_latency_ms_bucket{direction=\"outbound\",le=\"1\"} 1\n"
        "response_latency_ms_bucket{direction=\"outbound\",le=\"2.5\"} 2\n"
        "response_latency_ms_bucket{direction=\"outbound\",le=\"+Inf\"} 3\n"
        "response_latency_ms_sum{direction=\"outbound\"} 10.25\n"
        "response_latency_ms_count{direction=\"outbound\"} 3\n"
        "# HELP empty_ms No labels.\n"
        "# TYPE empty_ms histogram\n"
        "empty_ms_bucket{le=\"1\"} 1\n"
        "empty_ms_bucket{le=\"2.5\"} 1\n"
        "empty_ms_bucket{le=\"+Inf\"} 1\n"
        "empty_ms_sum 0.5\n"
        "empty_ms_count 1\n");
}

TEST_CASE("render: latency bucket bounds print as integers", "[metrics]") {
  Registry r;
  r.histogram("response_latency_ms", "Latency.", {}, latency_ms_buckets()).get({}).observe(3);
  const std::string text = render_prometheus(r.snapshot());
  CHECK_THAT(text, Catch::Contains("response_latency_ms_bucket{le=\"10\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("response_latency_ms_bucket{le=\"50000\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("response_latency_ms_sum 3\n"));
}

TEST_CASE("render: values", "[metrics]") {
  auto render_value = [](double v) {
    Snapshot s;
    FamilySnapshot& f = s.families.emplace_back();
    f.name = "x";
    f.type = MetricType::kGauge;
    f.series.emplace_back().value = v;
    const std::string text = render_prometheus(s);
    return text.substr(text.rfind("x ") + 2);
  };
  CHECK(render_value(0) == "0\n");
  CHECK(render_value(-0.0) == "0\n");
  CHECK(render_value(-5) == "-5\n");
  CHECK(render_value(1e15) == "1000000000000000\n");
  CHECK(render_value(12345678901234567890.0) == "1.2345678901234567e+19\n");
  CHECK(render_value(0.25) == "0.25\n");
  CHECK(render_value(1722000000.37) == "1722000000.37\n");
  CHECK(render_value(std::numeric_limits<double>::infinity()) == "+Inf\n");
  CHECK(render_value(-std::numeric_limits<double>::infinity()) == "-Inf\n");
  CHECK(render_value(std::numeric_limits<double>::quiet_NaN()) == "NaN\n");
}

TEST_CASE("render: label values and help are escaped", "[metrics]") {
  Registry r;
  auto& f = r.counter("request_total", "Help with \\ and\nnewline \"quoted\".", {"authority"});
  f.get({"a\\b\"c\nd"}).inc();
  f.get({"caf\xC3\xA9 \xF0\x9F\x98\x80"}).inc();  // valid UTF-8 passes unchanged
  f.get({"bad\xFF\xC3("}).inc();                  // invalid bytes become U+FFFD

  const std::string text = render_prometheus(r.snapshot());
  CHECK_THAT(text,
             Catch::Contains("# HELP request_total Help with \\\\ and\\nnewline \"quoted\".\n"));
  CHECK_THAT(text, Catch::Contains("request_total{authority=\"a\\\\b\\\"c\\nd\"} 1\n"));
  CHECK_THAT(text,
             Catch::Contains("request_total{authority=\"caf\xC3\xA9 \xF0\x9F\x98\x80\"} 1\n"));
  CHECK_THAT(text,
             Catch::Contains("request_total{authority=\"bad\xEF\xBF\xBD\xEF\xBF\xBD(\"} 1\n"));
}

TEST_CASE("render: empty label values are left out, as Prometheus reads them", "[metrics]") {
  Registry r;
  auto& f = r.counter("response_total", "Responses", {"status_code", "grpc_status_code"});
  f.get({"200", ""}).inc();
  f.get({"200", "14"}).inc();
  f.get({"", ""}).inc();
  const std::string text = render_prometheus(r.snapshot());
  CHECK_THAT(text, Catch::Contains("response_total{status_code=\"200\"} 1\n"));
  CHECK_THAT(text,
             Catch::Contains("response_total{status_code=\"200\",grpc_status_code=\"14\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("response_total 1\n"));
}

TEST_CASE("names follow the Prometheus data model", "[metrics]") {
  CHECK(is_valid_metric_name("request_total"));
  CHECK(is_valid_metric_name("lmesh:request_total"));
  CHECK(is_valid_metric_name("_x9"));
  CHECK_FALSE(is_valid_metric_name(""));
  CHECK_FALSE(is_valid_metric_name("9x"));
  CHECK_FALSE(is_valid_metric_name("request-total"));
  CHECK(is_valid_label_name("status_code"));
  CHECK_FALSE(is_valid_label_name("__name__"));
  CHECK_FALSE(is_valid_label_name("a:b"));
  CHECK_FALSE(is_valid_label_name("1a"));
}

TEST_CASE("parse /proc/self/stat", "[metrics][process]") {
  // A command name holding spaces and parentheses must not shift the fields.
  const std::string line =
      "4242 (my) (proc x) S 1 4242 4242 0 -1 4194560 100 0 0 0 "
      "250 150 0 0 20 0 3 0 123456 104857600 2560 18446744073709551615 1 1 0 0 0 0 0\n";
  const auto stat = parse_proc_stat(line);
  REQUIRE(stat.has_value());
  CHECK(stat->utime_ticks == 250);
  CHECK(stat->stime_ticks == 150);
  CHECK(stat->start_time_ticks == 123456);
  CHECK(stat->vsize_bytes == 104857600);
  CHECK(stat->rss_pages == 2560);

  CHECK_FALSE(parse_proc_stat("").has_value());
  CHECK_FALSE(parse_proc_stat("1 (x) S 1 2 3").has_value());
  CHECK_FALSE(parse_proc_stat(line.substr(0, line.find("250")) + "x 150").has_value());

  CHECK(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n") == 1700000000);
  CHECK_FALSE(parse_boot_time("cpu 1\n").has_value());
}

TEST_CASE("process metrics are present and plausible", "[metrics][process]") {
  Snapshot s;
  append_process_metrics(s);
  auto value = [&](std::string_view name) {
    const FamilySnapshot* f = s.find(name);
    REQUIRE(f != nullptr);
    REQUIRE(f->series.size() == 1);
    return f->series[0].value;
  };
  CHECK(s.find("process_cpu_seconds_total")->type == MetricType::kCounter);
  CHECK(value("process_cpu_seconds_total") >= 0);
  CHECK(value("process_resident_memory_bytes") > 1024 * 1024);
  CHECK(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
  CHECK(value("process_max_fds") >= value("process_open_fds"));

  const double open_before = value("process_open_fds");
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  Snapshot after;
  append_process_metrics(after);
  ::close(fd);
  CHECK(after.find("process_open_fds")->series[0].value == open_before + 1);

  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // btime is derived from uptime and can be off by a little after clock adjustments.
  CHECK(value("process_start_time_seconds") <= now + 60);
  CHECK(value("process_start_time_seconds") > now - 3600);

  const std::string text = render_prometheus(s);
  CHECK_THAT(text, Catch::Contains("# TYPE process_start_time_seconds gauge\n"));
}

TEST_CASE("build info: a gauge of 1 labelled with the version and the binary", "[metrics]") {
  Snapshot s;
  append_build_info(s, "lmesh-proxy");
  CHECK(build_version() == LMESH_VERSION);
  const std::string text = render_prometheus(s);
  CHECK_THAT(text, Catch::Contains("# HELP lmesh_build_info "));
  CHECK_THAT(text, Catch::Contains("# TYPE lmesh_build_info gauge\n"));
  CHECK_THAT(text, Catch::Contains("lmesh_build_info{version=\"" LMESH_VERSION
                                   "\",binary=\"lmesh-proxy\"} 1\n"));
}

}  // namespace
}  // namespace lmesh::metrics
