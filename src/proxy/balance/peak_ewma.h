// Peak-EWMA latency estimate of one endpoint (Finagle's PeakEwma, tower::load::PeakEwma in
// linkerd2-proxy): the cost a balancer compares is the estimate × (requests outstanding + 1).
//
// Why "peak": a plain EWMA lets a slow endpoint keep its traffic until many slow responses
// have dragged the average up. Here an RTT above the estimate replaces it at once, and the
// estimate only comes back down with time (decay τ), so slowness is punished immediately and
// forgotten slowly. Multiplying by pending+1 makes an endpoint that is queueing requests look
// costly before any of those slow responses has come back.
//
// Time is passed in (monotonic ns) so that callers and tests control the clock. Not
// thread-safe: one estimator lives on one worker.
#pragma once

#include <cstdint>

namespace lmesh::proxy::balance {

class PeakEwma {
 public:
  // linkerd2-proxy's defaults: a new endpoint is assumed to answer in 30 ms until it has
  // answered, and the estimate forgets with a time constant of 10 s.
  static constexpr uint64_t kDefaultRttNs = 30'000'000;
  static constexpr uint64_t kDefaultDecayNs = 10'000'000'000;

  explicit PeakEwma(uint64_t now_ns, uint64_t default_rtt_ns = kDefaultRttNs,
                    uint64_t decay_ns = kDefaultDecayNs);

  // The RTT estimate as of `now_ns`, in ns. Without new observations it decays towards zero
  // (Finagle and tower decay on every read the same way), so an endpoint that lost all its
  // traffic by being slow is tried again after a few τ instead of never. Reading does not
  // change the state: the answer does not depend on how often the balancer looks.
  double estimate_ns(uint64_t now_ns) const;

  // estimate × (pending + 1): the expected wait for one more request sent now.
  double cost(uint64_t now_ns) const { return estimate_ns(now_ns) * (pending_ + 1.0); }

  uint32_t pending() const { return pending_; }

  // A request was sent.
  void start() { ++pending_; }
  // A request ended without an RTT worth learning from (cancelled).
  void cancel();
  // A request ended after `rtt_ns`. Above the stored estimate (the last observation's, before
  // the read-time decay) the RTT replaces it: the peak. At or below it, the estimate moves
  // towards the RTT by 1 - exp(-elapsed/τ), elapsed being the time since the last
  // observation: older RTTs weigh less, and a burst of fast responses in a short time cannot
  // erase a recent peak. Does not change `pending`; see end().
  void observe(uint64_t now_ns, uint64_t rtt_ns);
  // Starts over from one fresh RTT: an endpoint let back after an ejection is judged by how
  // it answers now, not by the failures and idle time before.
  void restart(uint64_t now_ns, uint64_t rtt_ns) {
    estimate_ns_ = static_cast<double>(rtt_ns);
    updated_at_ns_ = now_ns;
  }
  // cancel() + observe(): a request finished.
  void end(uint64_t now_ns, uint64_t rtt_ns) {
    cancel();
    observe(now_ns, rtt_ns);
  }

 private:
  // exp(-(now - updated_at)/τ): how much of the stored estimate is still remembered.
  double remembered(uint64_t now_ns) const;

  double estimate_ns_;      // as of updated_at_ns_
  uint64_t updated_at_ns_;  // the last observation (or construction)
  double decay_ns_;
  uint32_t pending_ = 0;
};

}  // namespace lmesh::proxy::balance
