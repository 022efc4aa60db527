// Load balancing (src/proxy/balance/): the peak-EWMA estimator, failure accrual, and the P2C
// balancer over both, driven by a simulated clock and seeded generators so every run is the
// same run.
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/net/socket_address.h"
#include "proxy/balance/balancer.h"
#include "proxy/balance/failure_accrual.h"
#include "proxy/balance/peak_ewma.h"

namespace lmesh::proxy::balance {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kS = 1'000'000'000;

net::SocketAddress addr(uint16_t port) {
  return net::SocketAddress::loopback_v4(port);
}

std::vector<BalancerEndpoint> endpoints(std::initializer_list<uint16_t> ports) {
  std::vector<BalancerEndpoint> out;
  for (uint16_t p : ports) out.push_back({addr(p), 1});
  return out;
}

// ---- PeakEwma ----

TEST_CASE("peak-EWMA starts at the default RTT and jumps to a slower RTT at once",
          "[proxy][balance][ewma]") {
  PeakEwma e(0);
  CHECK(e.estimate_ns(0) == Approx(30.0 * kMs));
  CHECK(e.cost(0) == Approx(30.0 * kMs));
  e.observe(1 * kMs, 100 * kMs);
  CHECK(e.estimate_ns(1 * kMs) == Approx(100.0 * kMs));
}

TEST_CASE("peak-EWMA forgets a peak with τ = 10 s", "[proxy][balance][ewma]") {
  PeakEwma e(0);
  e.observe(0, 100 * kMs);
  // Read-time decay towards zero, without changing the state.
  CHECK(e.estimate_ns(10 * kS) == Approx(100.0 * kMs * std::exp(-1.0)));
  CHECK(e.estimate_ns(20 * kS) == Approx(100.0 * kMs * std::exp(-2.0)));
  CHECK(e.estimate_ns(0) == Approx(100.0 * kMs));

  // A faster RTT 10 s later: 100 ms × e⁻¹ + 10 ms × (1 − e⁻¹) = 43.109 ms.
  e.observe(10 * kS, 10 * kMs);
  const double expected = 100.0 * kMs * std::exp(-1.0) + 10.0 * kMs * (1 - std::exp(-1.0));
  CHECK(e.estimate_ns(10 * kS) == Approx(expected));
  CHECK(e.estimate_ns(10 * kS) == Approx(43.109 * kMs).epsilon(1e-4));
  // A burst of fast responses at the same instant cannot erase it: no time, no weight.
  for (int i = 0; i < 100; ++i) e.observe(10 * kS, 1 * kMs);
  CHECK(e.estimate_ns(10 * kS) == Approx(expected));
  // 1 ms later, one more fast response moves it only by 1 − e^(−1 ms / 10 s) ≈ 0.01 %.
  e.observe(10 * kS + kMs, 1 * kMs);
  CHECK(e.estimate_ns(10 * kS + kMs) < expected);
  CHECK(e.estimate_ns(10 * kS + kMs) > expected * 0.999);
  // Slower than the estimate again: straight to it.
  e.observe(11 * kS, 50 * kMs);
  CHECK(e.estimate_ns(11 * kS) == Approx(50.0 * kMs));
}

TEST_CASE("peak-EWMA cost is the estimate times pending + 1", "[proxy][balance][ewma]") {
  PeakEwma e(0, 20 * kMs);
  e.start();
  e.start();
  CHECK(e.pending() == 2);
  CHECK(e.cost(0) == Approx(60.0 * kMs));
  e.end(5 * kMs, 40 * kMs);  // one answered slowly
  CHECK(e.pending() == 1);
  CHECK(e.cost(5 * kMs) == Approx(80.0 * kMs));
  e.cancel();  // the other was cancelled: no RTT learned
  CHECK(e.pending() == 0);
  CHECK(e.cost(5 * kMs) == Approx(40.0 * kMs));
}

TEST_CASE("peak-EWMA treats a clock going backwards as no time", "[proxy][balance][ewma]") {
  PeakEwma e(10 * kS);
  CHECK(e.estimate_ns(5 * kS) == Approx(30.0 * kMs));
  e.observe(5 * kS, 10 * kMs);
  CHECK(e.estimate_ns(5 * kS) == Approx(30.0 * kMs));  // weight 1 on the old estimate
}

// ---- FailureAccrual ----

TEST_CASE("failure accrual backoff doubles from 1 s and stays within 60 s",
          "[proxy][balance][accrual]") {
  const FailureAccrualConfig c;
  // Equal jitter: [ceiling/2, ceiling), the ceiling doubling from 2 s up to 60 s.
  const uint64_t low[] = {1, 2, 4, 8, 16, 30, 30, 30};
  const uint64_t high[] = {2, 4, 8, 16, 32, 60, 60, 60};
  for (uint32_t k = 1; k <= 8; ++k) {
    INFO("ejection " << k);
    CHECK(FailureAccrual::backoff_ns(c, k, 0.0) == low[k - 1] * kS);
    CHECK(FailureAccrual::backoff_ns(c, k, 1.0) == high[k - 1] * kS);
    CHECK(FailureAccrual::backoff_ns(c, k, 0.5) == (low[k - 1] + high[k - 1]) * kS / 2);
  }
  CHECK(FailureAccrual::backoff_ns(c, 1000, 1.0) == 60 * kS);  // no overflow far out
  CHECK(FailureAccrual::backoff_ns(c, UINT32_MAX, 0.0) == 30 * kS);
}

TEST_CASE("failure accrual ejects after 7 consecutive failures", "[proxy][balance][accrual]") {
  std::minstd_rand rng(42);
  FailureAccrual a;
  for (int i = 0; i < 6; ++i) a.on_response(0, false, rng);
  a.on_response(0, true, rng);  // a success in between starts the count again
  CHECK(a.consecutive_failures() == 0);
  for (int i = 0; i < 6; ++i) a.on_response(1 * kS, false, rng);
  CHECK(a.state() == FailureAccrual::State::kReady);
  CHECK(a.available(1 * kS));
  a.on_response(1 * kS, false, rng);
  REQUIRE(a.state() == FailureAccrual::State::kEjected);
  CHECK(a.ejections() == 1);
  CHECK(a.ejected_until_ns() >= 2 * kS);
  CHECK(a.ejected_until_ns() <= 3 * kS);
  CHECK(!a.available(1 * kS));
  CHECK(!a.available(a.ejected_until_ns() - 1));
  // Late answers to requests sent before the ejection do not change it.
  a.on_response(1 * kS + 1, true, rng);
  CHECK(a.state() == FailureAccrual::State::kEjected);
  CHECK(a.probe_due(a.ejected_until_ns()));
  CHECK(a.available(a.ejected_until_ns()));
}

TEST_CASE("failure accrual: one probe; success brings it back, failure re-ejects longer",
          "[proxy][balance][accrual]") {
  std::minstd_rand rng(7);
  FailureAccrual a;
  for (int i = 0; i < 7; ++i) a.on_response(0, false, rng);
  uint64_t now = a.ejected_until_ns();
  a.start_probe(now);
  CHECK(a.state() == FailureAccrual::State::kProbing);
  CHECK(!a.available(now));  // exactly one request: the probe
  CHECK(!a.available(now + 100 * kS));

  a.on_probe_response(now, false, rng);
  CHECK(a.state() == FailureAccrual::State::kEjected);
  CHECK(a.ejections() == 2);
  CHECK(a.ejected_until_ns() >= now + 2 * kS);
  CHECK(a.ejected_until_ns() < now + 4 * kS);

  // The probe is cancelled: the next request probes instead, no new backoff.
  now = a.ejected_until_ns();
  a.start_probe(now);
  a.cancel_probe();
  CHECK(a.probe_due(now));
  CHECK(a.ejections() == 2);

  a.start_probe(now);
  a.on_probe_response(now, true, rng);
  CHECK(a.state() == FailureAccrual::State::kReady);
  CHECK(a.ejections() == 0);
  CHECK(a.consecutive_failures() == 0);
  // Reset: the next ejection starts again from 1 s.
  for (int i = 0; i < 7; ++i) a.on_response(now, false, rng);
  CHECK(a.ejected_until_ns() - now < 2 * kS);
}

TEST_CASE("failure accrual backoff jitter spreads within bounds up to the cap",
          "[proxy][balance][accrual]") {
  std::minstd_rand rng(2024);
  uint64_t lowest[9] = {}, highest[9] = {};
  for (int run = 0; run < 200; ++run) {
    FailureAccrual a;
    uint64_t now = 0;
    for (int i = 0; i < 7; ++i) a.on_response(now, false, rng);
    for (uint32_t k = 1; k <= 8; ++k) {
      const uint64_t backoff = a.ejected_until_ns() - now;
      if (run == 0 || backoff < lowest[k]) lowest[k] = backoff;
      if (run == 0 || backoff > highest[k]) highest[k] = backoff;
      now = a.ejected_until_ns();
      a.start_probe(now);
      a.on_probe_response(now, false, rng);
    }
  }
  const uint64_t low[] = {0, 1, 2, 4, 8, 16, 30, 30, 30};
  for (uint32_t k = 1; k <= 8; ++k) {
    INFO("ejection " << k);
    CHECK(lowest[k] >= low[k] * kS);
    CHECK(highest[k] < 2 * low[k] * kS);
    CHECK(highest[k] <= 60 * kS);
    // Jittered, not fixed: 200 draws cover most of the window.
    CHECK(highest[k] - lowest[k] > low[k] * kS * 8 / 10);
  }
}

TEST_CASE("failure accrual with max_failures 0 never ejects", "[proxy][balance][accrual]") {
  std::minstd_rand rng(1);
  FailureAccrual a(FailureAccrualConfig{.max_failures = 0});
  for (int i = 0; i < 100; ++i) a.on_response(0, false, rng);
  CHECK(a.state() == FailureAccrual::State::kReady);
}

// ---- Balancer ----

TEST_CASE("balancer with no endpoints fails fast, saying so", "[proxy][balance]") {
  std::minstd_rand rng(1);
  Balancer b;
  auto p = b.pick(0, rng);
  REQUIRE(!p);
  CHECK(p.error().reason == NoEndpoint::Reason::kNoEndpoints);
  CHECK(p.error().describe() == "no endpoints");
  b.update(endpoints({1}), 0);
  b.update({}, 0);
  CHECK(!b.pick(0, rng));
}

TEST_CASE("P2C prefers the lower cost", "[proxy][balance]") {
  std::minstd_rand rng(3);
  Balancer b;
  b.update(endpoints({1, 2}), 0);
  // Teach the balancer that :2 is slow (100 ms against the default 30 ms of :1).
  for (;;) {
    auto p = b.pick(0, rng);
    REQUIRE(p);
    p->start(0);
    if (p->address() == addr(2)) {
      p->complete(1 * kMs, 100 * kMs, true);
      break;
    }
    p->complete(1 * kMs, 30 * kMs, true);
  }
  for (int i = 0; i < 100; ++i) {
    auto p = b.pick(1 * kMs, rng);  // dropped unstarted: changes nothing
    REQUIRE(p);
    CHECK(p->address() == addr(1));
  }
  // Load moves it: :1 with 3 outstanding costs 30 × 4 = 120 ms > 100 ms.
  std::vector<Pick> held;
  for (int i = 0; i < 3; ++i) {
    auto p = b.pick(1 * kMs, rng);
    REQUIRE(p);
    CHECK(p->address() == addr(1));
    p->start(1 * kMs);
    held.push_back(std::move(*p));
  }
  auto p = b.pick(1 * kMs, rng);
  REQUIRE(p);
  CHECK(p->address() == addr(2));
  held.clear();  // cancelled: pending back to 0
  CHECK(b.find(addr(1))->ewma().pending() == 0);
}

// A closed-loop simulation on a virtual clock: `concurrency` clients, each sending its next
// request when the previous one is answered, `requests` in all. Returns picks per port.
struct SimResult {
  std::map<uint16_t, int> picks;
  double mean_latency_ms = 0;
};

template <class Latency>
SimResult simulate(Balancer* balancer, const std::vector<BalancerEndpoint>& set, int requests,
                   int concurrency, Latency latency_of, uint32_t seed) {
  std::minstd_rand rng(seed);
  struct InFlight {
    std::optional<Pick> pick;
    uint64_t sent_at;
  };
  std::multimap<uint64_t, InFlight> in_flight;
  SimResult result;
  uint64_t now = 0;
  size_t round_robin = 0;
  int sent = 0;
  double total_latency = 0;
  auto send = [&] {
    std::optional<Pick> pick;
    net::SocketAddress to;
    if (balancer != nullptr) {
      auto p = balancer->pick(now, rng);
      REQUIRE(p);
      p->start(now);
      to = p->address();
      pick.emplace(std::move(*p));
    } else {
      to = set[round_robin++ % set.size()].address;
    }
    const uint64_t latency = latency_of(to, rng);
    total_latency += static_cast<double>(latency);
    ++result.picks[to.port()];
    in_flight.emplace(now + latency, InFlight{std::move(pick), now});
    ++sent;
  };
  for (int i = 0; i < concurrency; ++i) send();
  while (!in_flight.empty()) {
    auto done = in_flight.extract(in_flight.begin());
    now = done.key();
    if (done.mapped().pick) done.mapped().pick->complete(now, now - done.mapped().sent_at, true);
    if (sent < requests) send();
  }
  result.mean_latency_ms = total_latency / requests / kMs;
  return result;
}

TEST_CASE("peak-EWMA P2C moves traffic away from an endpoint 50 ms slower than its peers",
          "[proxy][balance][sim]") {
  const auto set = endpoints({1, 2, 3});
  // 10 ms ± 1 ms for :1 and :2; 60 ms ± 1 ms for :3.
  auto latency = [](const net::SocketAddress& a, std::minstd_rand& rng) {
    const uint64_t jitter = std::uniform_int_distribution<uint64_t>(0, 2 * kMs)(rng);
    return (a.port() == 3 ? 60 * kMs : 10 * kMs) - kMs + jitter;
  };
  constexpr int kRequests = 5000;
  for (int concurrency : {1, 10}) {
    INFO("concurrency " << concurrency);
    Balancer b;
    b.update(set, 0);
    const SimResult p2c = simulate(&b, set, kRequests, concurrency, latency, 11);
    const SimResult rr = simulate(nullptr, set, kRequests, concurrency, latency, 11);
    const double p2c_slow = p2c.picks.at(3) / double(kRequests);
    const double rr_slow = rr.picks.at(3) / double(kRequests);
    UNSCOPED_INFO("slow endpoint share: p2c "
                  << p2c_slow << ", round-robin " << rr_slow << "; mean latency p2c "
                  << p2c.mean_latency_ms << " ms, round-robin " << rr.mean_latency_ms << " ms");
    CHECK(p2c_slow < 0.10);
    CHECK(rr_slow == Approx(1.0 / 3).epsilon(0.01));
    CHECK(p2c.mean_latency_ms < rr.mean_latency_ms);
    // The fast pair shares what the slow one does not get.
    CHECK(p2c.picks.at(1) == Approx(p2c.picks.at(2)).epsilon(0.15));
  }
}

// Weights are capacities: under load an endpoint of weight 3 is as costly as one of weight 1
// only with three times the requests outstanding. With nothing outstanding there is no
// capacity to share and the cheaper estimate wins whatever the weights (balancer.cc), so
// the runs here keep requests in flight.
TEST_CASE("endpoint weights 3:1 are honoured at equal latency", "[proxy][balance][sim]") {
  std::vector<BalancerEndpoint> set{{addr(1), 30000}, {addr(2), 10000}};  // only ratios matter
  auto fixed = [](const net::SocketAddress&, std::minstd_rand&) { return 10 * kMs; };
  auto jittered = [](const net::SocketAddress&, std::minstd_rand& rng) {
    return 9 * kMs + std::uniform_int_distribution<uint64_t>(0, 2 * kMs)(rng);
  };
  for (int concurrency : {4, 10, 32}) {
    for (bool jitter : {false, true}) {
      INFO("concurrency " << concurrency << (jitter ? ", 10 ± 1 ms" : ", 10 ms"));
      Balancer b;
      b.update(set, 0);
      const SimResult r = jitter ? simulate(&b, set, 4000, concurrency, jittered, 5)
                                 : simulate(&b, set, 4000, concurrency, fixed, 5);
      const double heavy = r.picks.at(1) / 4000.0;
      UNSCOPED_INFO("weight-3 share " << heavy);
      CHECK(heavy > 0.68);  // discreteness: 10 in flight split 7:3 or 8:2
      CHECK(heavy < 0.82);
    }
  }
}

// Every request succeeds except those to :3 before `heal_at`; one request every 10 ms.
TEST_CASE("failure accrual ejects a failing endpoint and lets it back when it heals",
          "[proxy][balance][sim]") {
  std::minstd_rand rng(99);
  Balancer b;
  b.update(endpoints({1, 2, 3}), 0);
  constexpr uint64_t kHealAt = 10 * kS;
  int failing_picks = 0, probes = 0, late_picks = 0, late_total = 0;
  bool ejected_seen = false;
  for (uint64_t now = 0; now < 60 * kS; now += 10 * kMs) {
    auto p = b.pick(now, rng);
    REQUIRE(p);  // the healthy pair always answers: never fail-fast here
    p->start(now);
    const bool to_failing = p->address() == addr(3);
    if (to_failing && p->is_probe()) ++probes;
    if (to_failing && now < kHealAt) ++failing_picks;
    if (now >= 35 * kS) {
      ++late_total;
      if (to_failing) ++late_picks;
    }
    p->complete(now, 5 * kMs, !(to_failing && now < kHealAt));
    if (b.find(addr(3))->accrual().state() == FailureAccrual::State::kEjected) {
      ejected_seen = true;
    }
  }
  CHECK(ejected_seen);
  // While failing: the 7 that eject it, then only probes (backoff 1–2 s, 2–4 s, 4–8 s).
  CHECK(failing_picks <= 7 + 3);
  CHECK(probes >= 3);
  CHECK(b.find(addr(3))->accrual().state() == FailureAccrual::State::kReady);
  // Healed: back in rotation with at least its third. It starts over from its probe's RTT
  // (5 ms) while the pair still carry what is left of their 30 ms start-up estimate (τ =
  // 10 s), so until they converge it wins somewhat more than a third, never everything.
  const double share = late_picks / double(late_total);
  UNSCOPED_INFO("healed endpoint share " << share);
  CHECK(share > 0.25);
  CHECK(share < 0.75);
}

void fail_until_ejected(Balancer& b, const net::SocketAddress& target, uint64_t now,
                        std::minstd_rand& rng) {
  for (int guard = 0; guard < 10000; ++guard) {
    const EndpointState* e = b.find(target);
    if (e->accrual().state() != FailureAccrual::State::kReady) return;
    auto p = b.pick(now, rng);
    REQUIRE(p);
    p->start(now);
    p->complete(now, 1 * kMs, p->address() != target);
  }
  FAIL("never ejected");
}

// Idle endpoints with equal estimates tie, and a tie goes to the first candidate drawn: the
// picks show the draw itself, through the alias table and, with most of the set ejected,
// through the slow path's list.
TEST_CASE("candidates are drawn in proportion to weight", "[proxy][balance]") {
  std::minstd_rand rng(21);
  Balancer b;
  std::vector<BalancerEndpoint> set;
  for (uint16_t port = 1; port <= 10; ++port) set.push_back({addr(port), port <= 4 ? port : 1u});
  b.update(set, 0);
  auto shares = [&](uint64_t now) {
    std::map<uint16_t, double> out;
    constexpr int kPicks = 60000;
    for (int i = 0; i < kPicks; ++i) {
      auto p = b.pick(now, rng);  // dropped unstarted: nothing changes between picks
      REQUIRE(p);
      out[p->address().port()] += 1.0 / kPicks;
    }
    return out;
  };
  auto all = shares(0);  // weights 1, 2, 3, 4 and six of 1: a total of 16
  CHECK(all[1] == Approx(1 / 16.0).margin(0.01));
  CHECK(all[2] == Approx(2 / 16.0).margin(0.01));
  CHECK(all[3] == Approx(3 / 16.0).margin(0.01));
  CHECK(all[4] == Approx(4 / 16.0).margin(0.01));
  CHECK(all[10] == Approx(1 / 16.0).margin(0.01));

  // Everything but :1 and :4 ejected: 1 : 4 between them.
  for (uint16_t port = 2; port <= 10; ++port) {
    if (port != 4) fail_until_ejected(b, addr(port), 0, rng);
  }
  REQUIRE(b.available(0) == 2);
  auto left = shares(0);
  CHECK(left.size() == 2);
  CHECK(left[1] == Approx(0.2).margin(0.01));
  CHECK(left[4] == Approx(0.8).margin(0.01));
}

TEST_CASE("probation lets exactly one live request through", "[proxy][balance]") {
  std::minstd_rand rng(5);
  Balancer b;
  b.update(endpoints({1, 2}), 0);
  fail_until_ejected(b, addr(1), 0, rng);
  const uint64_t due = b.find(addr(1))->accrual().ejected_until_ns();
  for (int i = 0; i < 50; ++i) {
    auto p = b.pick(due - 1, rng);
    REQUIRE(p);
    CHECK(p->address() == addr(2));
  }
  CHECK(b.available(due - 1) == 1);
  CHECK(b.available(due) == 2);

  auto probe = b.pick(due, rng);  // the first request after the backoff takes the probe
  REQUIRE(probe);
  CHECK(probe->address() == addr(1));
  CHECK(probe->is_probe());
  probe->start(due);
  for (int i = 0; i < 50; ++i) {
    auto p = b.pick(due, rng);
    REQUIRE(p);
    CHECK(p->address() == addr(2));
    CHECK(!p->is_probe());
  }
  probe->complete(due + kMs, 1 * kMs, false);  // still failing: ejected for longer
  const FailureAccrual& a = b.find(addr(1))->accrual();
  CHECK(a.state() == FailureAccrual::State::kEjected);
  CHECK(a.ejections() == 2);
  CHECK(a.ejected_until_ns() >= due + kMs + 2 * kS);

  // A probe dropped without an answer (cancelled) hands the probe to the next request.
  const uint64_t due2 = a.ejected_until_ns();
  {
    auto dropped = b.pick(due2, rng);
    REQUIRE(dropped);
    CHECK(dropped->is_probe());
    dropped->start(due2);
  }
  CHECK(a.probe_due(due2));
  CHECK(b.find(addr(1))->ewma().pending() == 0);

  auto healed = b.pick(due2, rng);
  REQUIRE(healed);
  CHECK(healed->is_probe());
  healed->start(due2);
  healed->complete(due2 + kMs, 1 * kMs, true);
  CHECK(a.state() == FailureAccrual::State::kReady);
  CHECK(b.available(due2) == 2);
  // It starts over from the probe's RTT, not from the estimate its failures left behind: a
  // healed endpoint competes at once instead of waiting tens of seconds for the decay.
  CHECK(b.find(addr(1))->ewma().estimate_ns(due2 + kMs) == Approx(1.0 * kMs));
}

TEST_CASE("all endpoints ejected fails fast, naming the count", "[proxy][balance]") {
  std::minstd_rand rng(8);
  Balancer b;
  b.update(endpoints({1, 2, 3}), 0);
  for (int i = 0; i < 100; ++i) {
    auto p = b.pick(0, rng);
    if (!p) break;
    p->start(0);
    p->complete(0, 1 * kMs, false);
  }
  auto p = b.pick(0, rng);
  REQUIRE(!p);
  CHECK(p.error().reason == NoEndpoint::Reason::kAllEjected);
  CHECK(p.error().endpoints == 3);
  CHECK(p.error().describe() == "all 3 endpoints are ejected after consecutive failures");
  CHECK(b.available(0) == 0);

  // One endpoint: its probe in flight leaves nothing for the next request.
  Balancer one;
  one.update(endpoints({9}), 0);
  fail_until_ejected(one, addr(9), 0, rng);
  const uint64_t due = one.find(addr(9))->accrual().ejected_until_ns();
  CHECK(one.pick(due - 1, rng).error().describe() ==
        "the only endpoint is ejected after consecutive failures");
  auto probe = one.pick(due, rng);
  REQUIRE(probe);
  CHECK(probe->is_probe());
  CHECK(one.pick(due, rng).error().reason == NoEndpoint::Reason::kAllEjected);
}

TEST_CASE("update keeps the state of endpoints that stay", "[proxy][balance]") {
  std::minstd_rand rng(13);
  Balancer b;
  b.update(endpoints({1, 2}), 0);
  fail_until_ejected(b, addr(2), 0, rng);
  // :1 answered slowly once.
  for (;;) {
    auto p = b.pick(0, rng);
    REQUIRE(p);
    if (p->address() != addr(1)) continue;
    p->start(0);
    p->complete(0, 200 * kMs, true);
    break;
  }
  const EndpointState* one = b.find(addr(1));

  b.update({{addr(1), 1}, {addr(2), 1}, {addr(3), 1}, {addr(1), 5}}, 1 * kMs);
  CHECK(b.size() == 3);  // the repeated :1 counts once
  CHECK(b.find(addr(1)) == one);
  CHECK(b.find(addr(1))->ewma().estimate_ns(1 * kMs) == Approx(200.0 * kMs).epsilon(1e-3));
  CHECK(b.find(addr(2))->accrual().state() == FailureAccrual::State::kEjected);
  CHECK(b.find(addr(3))->ewma().estimate_ns(1 * kMs) == Approx(30.0 * kMs));
}

TEST_CASE("a request to a removed endpoint completes safely", "[proxy][balance]") {
  std::minstd_rand rng(17);
  Balancer b;
  b.update(endpoints({1, 2}), 0);
  std::vector<Pick> held;
  for (int i = 0; i < 20; ++i) {
    auto p = b.pick(0, rng);
    REQUIRE(p);
    p->start(0);
    held.push_back(std::move(*p));
  }
  b.update(endpoints({1}), 1 * kMs);  // :2 removed with requests in flight
  CHECK(b.find(addr(2)) == nullptr);
  for (size_t i = 0; i < held.size(); i += 2) held[i].complete(2 * kMs, 2 * kMs, false);
  held.clear();  // the rest are cancelled; the last Pick frees :2's state (ASan checks)
  b.update({}, 3 * kMs);
  CHECK(b.size() == 0);
}

}  // namespace
}  // namespace lmesh::proxy::balance
