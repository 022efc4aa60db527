// /v1/stat's arithmetic: histogram_quantile as Prometheus computes it (values worked out by
// hand below), counter differences across resets, history, and the rows of an answer.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "tap/histogram_quantile.h"
#include "tap/prometheus_parser.h"
#include "tap/stat_history.h"
#include "tap/stat_rows.h"
#include "tap/stat_sample.h"

namespace lmesh::tap {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Cumulative: 10 observations <= 1, 20 in (1,5], 10 in (5,10], none above.
const std::vector<Bucket> kBuckets = {{1, 10}, {5, 30}, {10, 40}, {kInf, 40}};

TEST_CASE("histogram_quantile interpolates inside the bucket holding the rank") {
  // p50: rank 20 lies in (1,5] holding 20, 10 of them above 1: 1 + 4 * 10/20.
  CHECK(histogram_quantile(0.5, kBuckets) == Approx(3.0));
  // p95: rank 38 lies in (5,10] holding 10, 8 above 30: 5 + 5 * 8/10.
  CHECK(histogram_quantile(0.95, kBuckets) == Approx(9.0));
  // p99: rank 39.6: 5 + 5 * 9.6/10.
  CHECK(histogram_quantile(0.99, kBuckets) == Approx(9.8));
  // The first bucket starts at 0: rank 4 of its 10 is 0.4.
  CHECK(histogram_quantile(0.1, kBuckets) == Approx(0.4));
  CHECK(histogram_quantile(0, kBuckets) == Approx(0));
  // Bucket order in the input does not matter.
  std::vector<Bucket> shuffled = {{kInf, 40}, {5, 30}, {10, 40}, {1, 10}};
  CHECK(histogram_quantile(0.5, shuffled) == Approx(3.0));
}

TEST_CASE("histogram_quantile's edges follow Prometheus") {
  // A rank in the +Inf bucket answers the largest finite bound.
  CHECK(histogram_quantile(0.99, {{1, 10}, {5, 10}, {kInf, 20}}) == 5);
  // A first bucket with a bound at or below zero answers that bound.
  CHECK(histogram_quantile(0.5, {{-1, 5}, {kInf, 5}}) == -1);
  CHECK(std::isnan(histogram_quantile(0.5, {{1, 0}, {kInf, 0}})));  // no observations
  CHECK(std::isnan(histogram_quantile(0.5, {{1, 3}, {5, 4}})));     // no +Inf bucket
  CHECK(std::isnan(histogram_quantile(0.5, {{kInf, 4}})));          // one bucket
  CHECK(histogram_quantile(1.5, kBuckets) == kInf);
  CHECK(histogram_quantile(-0.5, kBuckets) == -kInf);
  // Non-monotonic counts (a sum of differences) are made monotonic, not interpolated backward.
  // Counts 10, 8, 20 read as 10, 10, 20: rank 10 is the top of the first bucket.
  CHECK(histogram_quantile(0.5, {{1, 10}, {5, 8}, {kInf, 20}}) == Approx(1));
}

PodSample sample_of(const std::string& text) {
  auto parsed = parse_prometheus_text(text);
  REQUIRE(parsed);
  return extract_pod_sample(*parsed);
}

TEST_CASE("pod samples keep the inbound side only, series by series") {
  PodSample s = sample_of(
      "request_total{direction=\"inbound\",authority=\"a\"} 5\n"
      "request_total{authority=\"b\",direction=\"inbound\"} 7\n"
      "request_total{direction=\"outbound\",authority=\"a\"} 100\n"
      "response_total{direction=\"inbound\",classification=\"success\",status_code=\"200\"} 9\n"
      "response_total{direction=\"inbound\",classification=\"failure\",status_code=\"500\"} 3\n"
      "response_latency_ms_bucket{direction=\"inbound\",le=\"10\"} 4\n"
      "response_latency_ms_bucket{direction=\"inbound\",le=\"+Inf\"} 12\n"
      "tcp_open_connections{direction=\"inbound\",peer=\"src\"} 2\n"
      "tcp_open_connections{direction=\"inbound\",peer=\"dst\"} 1\n"
      "tcp_open_connections{direction=\"outbound\",peer=\"dst\"} 50\n");
  CHECK(s.requests.size() == 2);
  CHECK(increase(s.requests, {}) == 12);
  CHECK(increase(s.success, {}) == 9);
  CHECK(increase(s.failure, {}) == 3);
  REQUIRE(s.buckets.size() == 2);
  CHECK(s.buckets.rbegin()->first == kInf);
  CHECK(s.tcp_connections == 2);  // peer="src" only: connections to the pod
}

TEST_CASE("differences never go negative: a reset series counts from zero, a new one whole") {
  SeriesValues before = {{"a", 100}, {"b", 50}, {"gone", 7}};
  SeriesValues now = {{"a", 130}, {"b", 10}, {"c", 5}};
  CHECK(increase(now, before) == 30 + 10 + 5);

  PodSample then = sample_of(
      "request_total{direction=\"inbound\"} 1000\n"
      "response_latency_ms_bucket{direction=\"inbound\",le=\"10\"} 900\n"
      "response_latency_ms_bucket{direction=\"inbound\",le=\"+Inf\"} 1000\n");
  // The proxy restarted: everything is lower than before.
  PodSample after_restart = sample_of(
      "request_total{direction=\"inbound\"} 20\n"
      "response_latency_ms_bucket{direction=\"inbound\",le=\"10\"} 15\n"
      "response_latency_ms_bucket{direction=\"inbound\",le=\"+Inf\"} 20\n");
  PodDelta d = difference(after_restart, then);
  CHECK(d.requests == 20);
  CHECK(d.buckets.at(10) == 15);
  CHECK(d.buckets.at(kInf) == 20);
}

TEST_CASE("history keeps rounds within retention and finds the one closest to a time") {
  using std::chrono::seconds;
  StatHistory h(std::chrono::milliseconds(30'000));
  StatHistory::Clock::time_point t0{};
  CHECK(h.closest(t0) == nullptr);
  for (int i = 0; i <= 60; i += 10) h.add(ScrapeRound{t0 + seconds(i), {}});
  CHECK(h.size() == 4);  // 30..60: older rounds are past the retention
  CHECK(h.closest(t0 + seconds(44))->at == t0 + seconds(40));
  CHECK(h.closest(t0 + seconds(46))->at == t0 + seconds(50));
  CHECK(h.closest(t0)->at == t0 + seconds(30));  // before everything kept: the oldest
  // Only the rounds a query can use: those from before the pods existed are passed over.
  auto later_than_45 = [&](const ScrapeRound& r) { return r.at > t0 + seconds(45); };
  CHECK(h.closest(t0, later_than_45)->at == t0 + seconds(50));
  CHECK(h.closest(t0, [](const ScrapeRound&) { return false; }) == nullptr);
}

TEST_CASE("a stat baseline is the round nearest the window's start, never one a moment old") {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  StatHistory h(std::chrono::milliseconds(3'600'000));
  StatHistory::Clock::time_point t0{};
  h.add(ScrapeRound{t0, {}});
  // A young history: the only round is 200 ms old, less than the 1 s interval.
  CHECK(h.baseline(t0 + milliseconds(200), seconds(60), seconds(1)) == nullptr);
  CHECK(h.baseline(t0 + seconds(1), seconds(60), seconds(1))->at == t0);
  for (int i = 1; i <= 90; ++i) h.add(ScrapeRound{t0 + seconds(i), {}});
  CHECK(h.baseline(t0 + seconds(90), seconds(60), seconds(1))->at == t0 + seconds(30));
  // A window shorter than the interval still spans one: the newest round a whole one old.
  CHECK(h.baseline(t0 + milliseconds(90'300), milliseconds(100), seconds(1))->at ==
        t0 + seconds(89));
  auto odd = [&](const ScrapeRound& r) { return (r.at - t0) / seconds(1) % 2 == 1; };
  CHECK(h.baseline(t0 + seconds(90), seconds(60), seconds(1), odd)->at == t0 + seconds(29));
}

Pod pod(std::string name, std::string workload, std::vector<std::string> services = {}) {
  Pod p;
  p.name = std::move(name);
  p.namespace_ = "default";
  p.workload = std::move(workload);
  p.services = std::move(services);
  return p;
}

std::string web_metrics(int requests, int success, int failure, int le5, int le10, int all,
                        int conns) {
  return "request_total{direction=\"inbound\"} " + std::to_string(requests) +
         "\nresponse_total{direction=\"inbound\",classification=\"success\"} " +
         std::to_string(success) +
         "\nresponse_total{direction=\"inbound\",classification=\"failure\"} " +
         std::to_string(failure) + "\nresponse_latency_ms_bucket{direction=\"inbound\",le=\"5\"} " +
         std::to_string(le5) + "\nresponse_latency_ms_bucket{direction=\"inbound\",le=\"10\"} " +
         std::to_string(le10) + "\nresponse_latency_ms_bucket{direction=\"inbound\",le=\"+Inf\"} " +
         std::to_string(all) + "\ntcp_open_connections{direction=\"inbound\"} " +
         std::to_string(conns) + "\n";
}

TEST_CASE("rows sum the pods of each resource and difference against the baseline") {
  std::vector<Pod> pods = {pod("db-1", "deploy/db"), pod("web-1", "deploy/web"),
                           pod("web-2", "deploy/web"), pod("web-3", "deploy/web")};
  ScrapeRound baseline{StatHistory::Clock::time_point{},
                       {{"default/web-1", sample_of(web_metrics(100, 90, 10, 50, 90, 100, 1))},
                        {"default/web-2", sample_of(web_metrics(0, 0, 0, 0, 0, 0, 0))},
                        {"default/db-1", sample_of(web_metrics(5, 5, 0, 5, 5, 5, 1))}}};
  std::unordered_map<std::string, PodSample> fresh = {
      // web-1: +100 requests, 95 ok / 5 failed; +40 <= 5, +50 in (5,10], +10 above.
      {"default/web-1", sample_of(web_metrics(200, 185, 15, 90, 140, 200, 2))},
      // web-2 restarted since: counts from zero.
      {"default/web-2", sample_of(web_metrics(20, 20, 0, 20, 20, 20, 1))},
      {"default/db-1", sample_of(web_metrics(5, 5, 0, 5, 5, 5, 1))},
      // web-3 did not answer: meshed 2/3.
  };
  Target all_deploys{TargetKind::kDeploy, ""};
  nlohmann::json rows = stat_rows(all_deploys, pods, fresh, &baseline, 10.0);
  REQUIRE(rows.size() == 2);
  const nlohmann::json& db = rows[0];
  CHECK(db["name"] == "db");
  CHECK(db["requests"] == 0);
  CHECK(db["success_rate"].is_null());  // no responses in the window
  CHECK(db["latency_ms_p50"].is_null());
  const nlohmann::json& web = rows[1];
  CHECK(web["name"] == "web");
  CHECK(web["kind"] == "deploy");
  CHECK(web["namespace"] == "default");
  CHECK(web["meshed"] == "2/3");
  CHECK(web["requests"] == 120);
  CHECK(web["rps"].get<double>() == Approx(12.0));
  CHECK(web["success_rate"].get<double>() == Approx(115.0 / 120.0));
  CHECK(web["tcp_connections"] == 3);
  // Buckets summed: <=5: 40+20=60, <=10: 50+20=70, all: 100+20=120.
  // p50: rank 60 -> first bucket (0,5]: 5 * 60/60 = 5.
  CHECK(web["latency_ms_p50"].get<double>() == Approx(5.0));
  // p95: rank 114 -> +Inf bucket -> the largest finite bound, 10.
  CHECK(web["latency_ms_p95"].get<double>() == Approx(10.0));
  // p99: rank 118.8, in +Inf too.
  CHECK(web["latency_ms_p99"].get<double>() == Approx(10.0));

  // Without a baseline: who answered, but no figures.
  nlohmann::json bare = stat_rows(Target{TargetKind::kDeploy, "web"}, pods, fresh, nullptr, 0);
  REQUIRE(bare.size() == 1);
  CHECK(bare[0]["meshed"] == "2/3");
  CHECK(bare[0]["requests"].is_null());
}

TEST_CASE("row keys per target kind") {
  Pod p = pod("web-1", "deploy/web",
              {"web.default.svc.cluster.local:8080", "web.default.svc.cluster.local:9090",
               "api.default.svc.cluster.local:80"});
  auto keys = row_keys(Target{TargetKind::kSvc, ""}, p);
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].name == "web");
  CHECK(keys[1].name == "api");
  CHECK(row_keys(Target{TargetKind::kSvc, "api"}, p).size() == 1);
  CHECK(row_keys(Target{TargetKind::kPod, ""}, p)[0].name == "web-1");
  CHECK(row_keys(Target{TargetKind::kNs, "default"}, p)[0].kind == "ns");
  CHECK(row_keys(Target{TargetKind::kDeploy, "other"}, p).empty());
}

}  // namespace
}  // namespace lmesh::tap
