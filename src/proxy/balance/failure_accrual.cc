#include "proxy/balance/failure_accrual.h"

#include <algorithm>
#include <cassert>

namespace lmesh::proxy::balance {

uint64_t FailureAccrual::backoff_ns(const FailureAccrualConfig& config, uint32_t ejections,
                                    double jitter01) {
  // The window is [ceiling/2, ceiling): ceiling = 2 × min for the first ejection, doubling
  // after that, never above max. Doubling stops early enough that the shift cannot overflow.
  const uint32_t doublings = std::min<uint32_t>(ejections == 0 ? 0 : ejections - 1, 32);
  const uint64_t min_ns = std::max<uint64_t>(config.min_backoff_ns, 1);
  const uint64_t max_ns = std::max(config.max_backoff_ns, min_ns);
  uint64_t ceiling = max_ns;
  if (min_ns <= (max_ns >> doublings) / 2) ceiling = (min_ns << doublings) * 2;
  const double jitter = std::clamp(jitter01, 0.0, 1.0);
  const uint64_t half = ceiling / 2;
  return std::min(half + static_cast<uint64_t>(jitter * static_cast<double>(ceiling - half)),
                  max_ns);
}

void FailureAccrual::transition(State to) {
  switch (to) {
    case State::kReady: assert(state_ == State::kProbing); break;
    case State::kEjected: assert(state_ == State::kReady || state_ == State::kProbing); break;
    case State::kProbing: assert(state_ == State::kEjected); break;
  }
  state_ = to;
}

void FailureAccrual::eject(uint64_t now_ns, std::minstd_rand& rng) {
  ++ejections_;
  const double jitter = std::generate_canonical<double, 32>(rng);
  ejected_until_ns_ = now_ns + backoff_ns(config_, ejections_, jitter);
  transition(State::kEjected);
}

void FailureAccrual::start_probe(uint64_t now_ns) {
  assert(probe_due(now_ns));
  (void)now_ns;
  transition(State::kProbing);
}

void FailureAccrual::on_response(uint64_t now_ns, bool success, std::minstd_rand& rng) {
  if (state_ != State::kReady) return;
  if (success) {
    failures_ = 0;
    return;
  }
  ++failures_;
  if (config_.max_failures != 0 && failures_ >= config_.max_failures) eject(now_ns, rng);
}

void FailureAccrual::on_probe_response(uint64_t now_ns, bool success, std::minstd_rand& rng) {
  assert(state_ == State::kProbing);
  if (state_ != State::kProbing) return;
  if (success) {
    failures_ = 0;
    ejections_ = 0;
    ejected_until_ns_ = 0;
    transition(State::kReady);
  } else {
    ++failures_;
    eject(now_ns, rng);
  }
}

void FailureAccrual::cancel_probe() {
  assert(state_ == State::kProbing);
  if (state_ != State::kProbing) return;
  transition(State::kEjected);  // ejected_until is in the past: the next request probes
}

std::string_view to_string(FailureAccrual::State state) {
  switch (state) {
    case FailureAccrual::State::kReady: return "ready";
    case FailureAccrual::State::kEjected: return "ejected";
    case FailureAccrual::State::kProbing: return "probing";
  }
  return "unknown";
}

}  // namespace lmesh::proxy::balance
