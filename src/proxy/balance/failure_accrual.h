// Failure accrual for one endpoint (Finagle's FailureAccrualFactory, linkerd's
// "consecutive failures" policy): after N consecutive failures the endpoint is ejected for a
// backoff; when the backoff has run out, the next live request that finds it is the probe,
// and the probe's outcome decides: success → ready, failure → ejected for a longer backoff.
//
// Probing with a live request rather than a synthetic health check means the test is the
// real thing (same route, same TLS, same server code path), and costs at most one request
// per backoff per endpoint per worker.
//
//   kReady   ── N consecutive failures ──────────────────► kEjected (backoff)
//   kEjected ── backoff over, a request takes the probe ─► kProbing
//   kProbing ── probe succeeded ─────────────────────────► kReady (counters reset)
//   kProbing ── probe failed ────────────────────────────► kEjected (next, longer backoff)
//   kProbing ── probe cancelled ─────────────────────────► kEjected (backoff over: probe again)
//
// Not thread-safe: one endpoint's accrual lives on one worker.
#pragma once

#include <cstdint>
#include <random>
#include <string_view>

namespace lmesh::proxy::balance {

struct FailureAccrualConfig {
  // Consecutive failures that eject an endpoint; 0 disables failure accrual.
  uint32_t max_failures = 7;
  // The first ejection lasts between min_backoff and 2 × min_backoff; each further ejection
  // without a success in between doubles that window, up to [max/2, max).
  uint64_t min_backoff_ns = 1'000'000'000;
  uint64_t max_backoff_ns = 60'000'000'000;
};

class FailureAccrual {
 public:
  enum class State {
    kReady,    // takes requests
    kEjected,  // takes none until ejected_until; then the next request becomes the probe
    kProbing,  // one request (the probe) is in flight; takes no other
  };

  explicit FailureAccrual(const FailureAccrualConfig& config = {}) : config_(config) {}

  // How long the `ejections`-th consecutive ejection (1-based) lasts for a jitter draw
  // `jitter01` in [0, 1): "equal jitter" (half fixed, half random; see the AWS Architecture
  // Blog, "Exponential Backoff And Jitter", 2015). The random half spreads the probes of
  // endpoints that failed together, and of workers that ejected the same endpoint; the fixed
  // half keeps the backoff from collapsing to nothing.
  static uint64_t backoff_ns(const FailureAccrualConfig& config, uint32_t ejections,
                             double jitter01);

  State state() const { return state_; }
  // True if a request may go to the endpoint now: it is ready, or its backoff is over and
  // the request would be the probe (see probe_due()).
  bool available(uint64_t now_ns) const { return state_ == State::kReady || probe_due(now_ns); }
  // Ejected and the backoff is over: the next request should take the probe.
  bool probe_due(uint64_t now_ns) const {
    return state_ == State::kEjected && now_ns >= ejected_until_ns_;
  }
  uint32_t consecutive_failures() const { return failures_; }
  // Ejections since the endpoint was last ready; decides the next backoff.
  uint32_t ejections() const { return ejections_; }
  uint64_t ejected_until_ns() const { return ejected_until_ns_; }

  // The request about to be sent is the probe: kEjected (backoff over) → kProbing.
  void start_probe(uint64_t now_ns);
  // An ordinary (non-probe) request ended. Counts only while kReady: a response to a
  // request sent before the ejection says nothing about the endpoint after it, and while
  // probing only the probe decides. `rng` draws the jitter when this failure ejects.
  void on_response(uint64_t now_ns, bool success, std::minstd_rand& rng);
  // The probe ended: success → kReady with counters and backoff reset; failure → kEjected
  // for the next, longer backoff.
  void on_probe_response(uint64_t now_ns, bool success, std::minstd_rand& rng);
  // The probe was cancelled before it answered: back to kEjected with the backoff already
  // over, so the next request probes instead.
  void cancel_probe();

 private:
  void transition(State to);
  void eject(uint64_t now_ns, std::minstd_rand& rng);

  FailureAccrualConfig config_;
  State state_ = State::kReady;
  uint32_t failures_ = 0;
  uint32_t ejections_ = 0;
  uint64_t ejected_until_ns_ = 0;
};

std::string_view to_string(FailureAccrual::State state);

}  // namespace lmesh::proxy::balance
