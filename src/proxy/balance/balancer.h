// Load balancing over the endpoints of ONE logical service on ONE worker (DESIGN.md "Load
// balancing"): power of two choices (P2C) over the available endpoints, compared by
// peak-EWMA cost, with failure accrual taking failing endpoints out. Per request for HTTP;
// per connection for opaque TCP (pick at connect, complete() once connected with the connect
// time as the RTT).
//
// P2C: comparing two random endpoints instead of scanning for the best one costs O(1) and
// does not herd: every worker seeing the same "best" endpoint would send it everything at
// once, while two random candidates spread the load and still avoid the worst endpoints
// (Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing", 2001).
//
// Pure state, no I/O, not thread-safe: each worker owns its balancers, and a Pick must be
// used on the worker that made it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/net/socket_address.h"
#include "proxy/balance/failure_accrual.h"
#include "proxy/balance/peak_ewma.h"

namespace lmesh::proxy::balance {

struct BalancerEndpoint {
  net::SocketAddress address;
  // Relative capacity: with requests in flight, an endpoint of weight 3 gets about three
  // times the requests of one of weight 1 at equal latency. With nothing in flight there is
  // no capacity to share and the lower estimate wins, whatever the weights. Only ratios
  // matter; 0 counts as 1.
  uint32_t weight = 1;
};

struct BalancerConfig {
  uint64_t default_rtt_ns = PeakEwma::kDefaultRttNs;
  uint64_t decay_ns = PeakEwma::kDefaultDecayNs;
  FailureAccrualConfig accrual;
  // Seeds each endpoint's backoff-jitter generator (mixed with its address), so that
  // workers and proxies given different seeds do not probe a failed endpoint in step.
  uint32_t seed = 1;
};

// What the balancer knows of one endpoint. Shared by the balancer and the Picks in flight, so
// that a request outlives its endpoint's removal from the set and still completes safely.
class EndpointState {
 public:
  EndpointState(const net::SocketAddress& address, uint64_t now_ns, const BalancerConfig& config);

  const net::SocketAddress& address() const { return address_; }
  const PeakEwma& ewma() const { return ewma_; }
  const FailureAccrual& accrual() const { return accrual_; }

 private:
  friend class Balancer;
  friend class Pick;

  net::SocketAddress address_;
  PeakEwma ewma_;
  FailureAccrual accrual_;
  std::minstd_rand jitter_rng_;
};

// One request's (or connection's) claim on an endpoint. start() when the request is sent;
// complete() when it ends. Dropping a Pick without complete() (the request was cancelled)
// only undoes what it holds: pending goes back down, and a probe is handed back so that
// the next request probes instead. A cancellation says nothing about the endpoint, so it
// feeds neither the EWMA nor failure accrual.
class [[nodiscard]] Pick {
 public:
  Pick(Pick&& other) noexcept;
  Pick& operator=(Pick&& other) noexcept;
  Pick(const Pick&) = delete;
  Pick& operator=(const Pick&) = delete;
  ~Pick() { release(); }

  // Valid until complete().
  const net::SocketAddress& address() const { return endpoint_->address(); }
  // This request decides whether an ejected endpoint comes back (failure_accrual.h).
  bool is_probe() const { return probe_; }

  // The request was sent: the endpoint's pending count rises. Call it before the next pick
  // on this worker (normally right away) so that pick sees the load.
  void start(uint64_t now_ns);
  // The request ended after `rtt_ns` (time to the response, or the connect time for opaque
  // TCP). `success` = the endpoint answered usefully (no connect error, reset or 5xx from
  // the endpoint itself). The Pick is spent afterwards.
  void complete(uint64_t now_ns, uint64_t rtt_ns, bool success);

 private:
  friend class Balancer;
  Pick(std::shared_ptr<EndpointState> endpoint, bool probe)
      : endpoint_(std::move(endpoint)), probe_(probe) {}
  void release();

  std::shared_ptr<EndpointState> endpoint_;  // null once complete or moved from
  bool probe_ = false;
  bool started_ = false;
};

// Why there is nothing to pick. With every endpoint ejected the proxy answers 503 at once,
// describe() giving the reason; with none at all the request first waits for one, up to
// --failfast-timeout (DiscoveryCache::await_endpoints).
struct NoEndpoint {
  enum class Reason {
    kNoEndpoints,  // discovery gave no endpoints at all
    kAllEjected,   // every endpoint is ejected by failure accrual (or has a probe in flight)
  };
  Reason reason;
  size_t endpoints = 0;  // how many the service has

  // "no endpoints" / "all 3 endpoints are ejected after consecutive failures"
  std::string describe() const;
};

class Balancer {
 public:
  explicit Balancer(const BalancerConfig& config = {}) : config_(config) {}

  // Replaces the endpoint set. Endpoints that stay keep their EWMA and failure-accrual state
  // (a discovery update must not make a slow or failing endpoint look new); new ones start
  // at the default RTT; removed ones are dropped here and freed when their last Pick ends.
  // A repeated address counts once, with its first weight.
  void update(const std::vector<BalancerEndpoint>& endpoints, uint64_t now_ns);

  // P2C: two distinct candidates drawn with probability proportional to weight among the
  // available endpoints; an endpoint due for its probe wins, otherwise the lower cost
  // estimate × (1 + pending × mean weight / weight) wins (ties: the first drawn). With one
  // available endpoint it is picked.
  std::expected<Pick, NoEndpoint> pick(uint64_t now_ns, std::minstd_rand& rng);

  size_t size() const { return slots_.size(); }
  // Endpoints a request could go to now (ready, or due for a probe).
  size_t available(uint64_t now_ns) const;
  // For metrics, the admin endpoint and tests; null if the address is not in the set.
  const EndpointState* find(const net::SocketAddress& address) const;

 private:
  struct Slot {
    std::shared_ptr<EndpointState> state;
    uint32_t weight;
    // mean weight / weight: turns pending into "pending per unit of capacity".
    double load_scale;
  };
  static constexpr size_t kNone = static_cast<size_t>(-1);

  bool slot_available(size_t i, uint64_t now_ns) const {
    return slots_[i].state->accrual_.available(now_ns);
  }
  void build_alias(const std::vector<Slot>& slots, uint64_t total, bool equal);
  size_t draw(std::minstd_rand& rng) const;
  size_t draw_other(size_t taken, std::minstd_rand& rng) const;
  size_t better(size_t a, size_t b, uint64_t now_ns) const;
  std::expected<Pick, NoEndpoint> pick_slow(size_t a, uint64_t now_ns, std::minstd_rand& rng);
  Pick take(size_t i, uint64_t now_ns);

  BalancerConfig config_;
  std::vector<Slot> slots_;
  // Walker's alias table for draws proportional to weight in O(1): slot i keeps a draw that
  // lands on it when the draw's fraction is below threshold_[i] (out of 2^31), and passes
  // it to alias_[i] otherwise. Both empty when all weights are equal: a uniform draw is the
  // same and cheaper.
  std::vector<uint32_t> threshold_;
  std::vector<uint32_t> alias_;
  std::vector<size_t> scratch_;  // pick_slow's list of available slots, kept to avoid allocating
};

}  // namespace lmesh::proxy::balance
