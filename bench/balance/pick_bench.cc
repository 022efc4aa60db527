// Micro benchmark: the cost of one balancer decision (pick + start + complete) with 10, 100
// and 1,000 endpoints, against two peers measured in the same run over the same endpoint
// vector: round-robin (the cheapest possible pick) and a uniformly random pick (what P2C
// does twice before it compares costs). Single-threaded, like a worker.
//
//   ninja -C build bench/balance-bench && build/bench/balance-bench
//
// Each figure runs for 2,000,000 decisions or 2 s, whichever ends first. 16 requests stay in
// flight, so pending counts are not all zero, and the simulated clock advances 1 µs per
// decision so that the EWMA decays between reads as it would on a live worker.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/net/socket_address.h"
#include "proxy/balance/balancer.h"

namespace {

using lmesh::net::SocketAddress;
using lmesh::proxy::balance::Balancer;
using lmesh::proxy::balance::BalancerEndpoint;
using lmesh::proxy::balance::Pick;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kMaxOps = 2'000'000;
constexpr auto kMaxTime = std::chrono::seconds(2);
constexpr size_t kInFlight = 16;

uint64_t g_sink = 0;  // results feed it so the compiler cannot drop the work

std::vector<BalancerEndpoint> make_endpoints(size_t n, bool weighted) {
  std::vector<BalancerEndpoint> out;
  for (size_t i = 0; i < n; ++i) {
    const std::string text =
        "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ":8080";
    auto address = SocketAddress::parse(text);
    if (!address) {
      std::fprintf(stderr, "bad address %s\n", text.c_str());
      std::exit(1);
    }
    out.push_back({*address, weighted ? static_cast<uint32_t>(1 + i % 4) : 1u});
  }
  return out;
}

// Runs `op(i)` until kMaxOps or kMaxTime; returns ns per op.
template <class Op>
double measure(Op op) {
  for (uint64_t i = 0; i < 10'000; ++i) op(i);  // warm caches and branch predictors
  const auto start = Clock::now();
  uint64_t ops = 0;
  auto now = start;
  while (ops < kMaxOps) {
    for (uint64_t end = ops + 4096; ops < end; ++ops) op(ops);
    now = Clock::now();
    if (now - start > kMaxTime) break;
  }
  return std::chrono::duration<double, std::nano>(now - start).count() / static_cast<double>(ops);
}

double measure_p2c(const std::vector<BalancerEndpoint>& endpoints) {
  Balancer balancer;
  balancer.update(endpoints, 0);
  std::minstd_rand rng(1);
  std::array<std::optional<Pick>, kInFlight> in_flight;
  uint64_t now = 0;
  return measure([&](uint64_t i) {
    now += 1000;
    auto pick = balancer.pick(now, rng);
    if (!pick) std::abort();
    pick->start(now);
    g_sink += pick->address().port();
    // The request sent kInFlight decisions ago answers now, 5 to 20 ms after it was sent.
    std::optional<Pick>& slot = in_flight[i % kInFlight];
    if (slot) slot->complete(now, 5'000'000 + (i * 7919) % 15'000'000, true);
    slot.emplace(std::move(*pick));
  });
}

double measure_round_robin(const std::vector<BalancerEndpoint>& endpoints) {
  size_t next = 0;
  return measure([&](uint64_t) {
    g_sink += endpoints[next].address.port();
    if (++next == endpoints.size()) next = 0;
  });
}

double measure_random(const std::vector<BalancerEndpoint>& endpoints) {
  std::minstd_rand rng(1);
  const auto n = static_cast<uint32_t>(endpoints.size());
  return measure([&](uint64_t) {
    g_sink += endpoints[std::uniform_int_distribution<uint32_t>(0, n - 1)(rng)].address.port();
  });
}

}  // namespace

int main() {
  std::printf("balancer decision cost, ns per pick (P2C: pick + start + complete; %zu in flight)\n",
              kInFlight);
  std::printf("%9s  %10s  %14s  %11s  %10s  %8s  %12s\n", "endpoints", "p2c", "p2c weighted",
              "round-robin", "random", "p2c/rr", "p2c/random");
  for (size_t n : {10, 100, 1000}) {
    const auto equal = make_endpoints(n, false);
    const auto weighted = make_endpoints(n, true);
    const double p2c = measure_p2c(equal);
    const double p2c_weighted = measure_p2c(weighted);
    const double rr = measure_round_robin(equal);
    const double random = measure_random(equal);
    std::printf("%9zu  %10.1f  %14.1f  %11.1f  %10.1f  %7.1fx  %11.1fx\n", n, p2c, p2c_weighted, rr,
                random, p2c / rr, p2c / random);
  }
  std::printf("(checksum %llu)\n", static_cast<unsigned long long>(g_sink));
  return 0;
}
