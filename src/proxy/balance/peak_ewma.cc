#include "proxy/balance/peak_ewma.h"

#include <cassert>
#include <cmath>

namespace lmesh::proxy::balance {

PeakEwma::PeakEwma(uint64_t now_ns, uint64_t default_rtt_ns, uint64_t decay_ns)
    : estimate_ns_(static_cast<double>(default_rtt_ns)),
      updated_at_ns_(now_ns),
      // A zero τ would divide by zero; 1 ns means "remember nothing".
      decay_ns_(static_cast<double>(decay_ns == 0 ? 1 : decay_ns)) {}

double PeakEwma::remembered(uint64_t now_ns) const {
  // A clock that went backwards (callers mixing clocks) counts as no time at all.
  if (now_ns <= updated_at_ns_) return 1.0;
  return std::exp(-static_cast<double>(now_ns - updated_at_ns_) / decay_ns_);
}

double PeakEwma::estimate_ns(uint64_t now_ns) const {
  return estimate_ns_ * remembered(now_ns);
}

void PeakEwma::cancel() {
  assert(pending_ > 0 && "a request ended that never started");
  if (pending_ > 0) --pending_;
}

void PeakEwma::observe(uint64_t now_ns, uint64_t rtt_ns) {
  const double rtt = static_cast<double>(rtt_ns);
  if (rtt > estimate_ns_) {
    estimate_ns_ = rtt;
  } else {
    const double w = remembered(now_ns);
    estimate_ns_ = estimate_ns_ * w + rtt * (1.0 - w);
  }
  if (now_ns > updated_at_ns_) updated_at_ns_ = now_ns;
}

}  // namespace lmesh::proxy::balance
