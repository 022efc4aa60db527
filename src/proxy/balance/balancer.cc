#include "proxy/balance/balancer.h"

#include <algorithm>
#include <cassert>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace lmesh::proxy::balance {

namespace {

// A draw that lands on an unavailable endpoint is redrawn; after this many misses pick_slow
// lists the available endpoints instead. Three misses in a row are rare unless most of the
// set is ejected or one weight dwarfs the others, and then the O(n) list is what it takes.
constexpr int kDrawAttempts = 3;

// 31 random bits from one step of the generator (minstd_rand yields [1, 2^31 - 2]).
uint32_t random31(std::minstd_rand& rng) {
  return static_cast<uint32_t>(rng() - 1);
}

// r × n / 2^31 for a 31-bit r: an index below n without a division (Lemire's multiply-shift).
// The bias, at most n / 2^31, is far below anything a balancer could notice.
uint64_t scaled(uint32_t r, size_t n) {
  return static_cast<uint64_t>(r) * n;
}

uint64_t uniform_below(uint64_t n, std::minstd_rand& rng) {
  return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng);
}

}  // namespace

EndpointState::EndpointState(const net::SocketAddress& address, uint64_t now_ns,
                             const BalancerConfig& config)
    : address_(address),
      ewma_(now_ns, config.default_rtt_ns, config.decay_ns),
      accrual_(config.accrual),
      jitter_rng_(static_cast<uint32_t>(address.hash() ^ config.seed)) {}

// ---- Pick ----

Pick::Pick(Pick&& other) noexcept
    : endpoint_(std::move(other.endpoint_)), probe_(other.probe_), started_(other.started_) {}

Pick& Pick::operator=(Pick&& other) noexcept {
  if (this != &other) {
    release();
    endpoint_ = std::move(other.endpoint_);
    probe_ = other.probe_;
    started_ = other.started_;
  }
  return *this;
}

void Pick::start(uint64_t now_ns) {
  // Unused for now: the caller measures the RTT itself (to the response head, or the connect
  // time), which need not end when complete() is called.
  (void)now_ns;
  assert(endpoint_ != nullptr && !started_);
  if (endpoint_ == nullptr || started_) return;
  started_ = true;
  endpoint_->ewma_.start();
}

void Pick::complete(uint64_t now_ns, uint64_t rtt_ns, bool success) {
  assert(endpoint_ != nullptr && started_);
  if (endpoint_ == nullptr) return;
  EndpointState& e = *endpoint_;
  if (started_) e.ewma_.cancel();
  // A failure may only make the endpoint look slower, never faster: an endpoint that fails
  // fast (connection refused, an immediate 5xx) would otherwise win every comparison and
  // draw more traffic to fail (the "black hole" a pure latency balancer falls into). Slow
  // failures, such as timeouts, still count as the peaks they are.
  if (probe_ && success) {
    // Back from an ejection: the estimate built before it (failures that could only raise
    // it, then idle time) would keep the endpoint out for tens of seconds after it healed.
    e.ewma_.restart(now_ns, rtt_ns);
  } else if (success || static_cast<double>(rtt_ns) > e.ewma_.estimate_ns(now_ns)) {
    e.ewma_.observe(now_ns, rtt_ns);
  }
  if (probe_) {
    e.accrual_.on_probe_response(now_ns, success, e.jitter_rng_);
  } else {
    e.accrual_.on_response(now_ns, success, e.jitter_rng_);
  }
  endpoint_.reset();
}

void Pick::release() {
  if (endpoint_ == nullptr) return;
  if (started_) endpoint_->ewma_.cancel();
  if (probe_ && endpoint_->accrual_.state() == FailureAccrual::State::kProbing) {
    endpoint_->accrual_.cancel_probe();
  }
  endpoint_.reset();
}

// ---- NoEndpoint ----

std::string NoEndpoint::describe() const {
  switch (reason) {
    case Reason::kNoEndpoints: return "no endpoints";
    case Reason::kAllEjected:
      if (endpoints == 1) return "the only endpoint is ejected after consecutive failures";
      return "all " + std::to_string(endpoints) +
             " endpoints are ejected after consecutive failures";
  }
  return "no endpoint available";
}

// ---- Balancer ----

void Balancer::update(const std::vector<BalancerEndpoint>& endpoints, uint64_t now_ns) {
  std::unordered_map<net::SocketAddress, std::shared_ptr<EndpointState>> previous;
  previous.reserve(slots_.size());
  for (Slot& s : slots_) previous.emplace(s.state->address(), std::move(s.state));

  std::vector<Slot> slots;
  slots.reserve(endpoints.size());
  std::unordered_set<net::SocketAddress> seen;
  seen.reserve(endpoints.size());
  uint64_t total = 0;
  bool equal = true;
  for (const BalancerEndpoint& ep : endpoints) {
    if (!seen.insert(ep.address).second) continue;
    const uint32_t weight = std::max<uint32_t>(ep.weight, 1);
    std::shared_ptr<EndpointState> state;
    if (auto it = previous.find(ep.address); it != previous.end()) {
      state = std::move(it->second);
    } else {
      state = std::make_shared<EndpointState>(ep.address, now_ns, config_);
    }
    if (!slots.empty() && weight != slots.front().weight) equal = false;
    total += weight;
    slots.push_back(Slot{std::move(state), weight, 1.0});
  }

  const double mean = slots.empty() ? 1.0 : static_cast<double>(total) / slots.size();
  for (Slot& s : slots) s.load_scale = mean / s.weight;
  build_alias(slots, total, equal);
  slots_ = std::move(slots);
}

size_t Balancer::available(uint64_t now_ns) const {
  size_t n = 0;
  for (size_t i = 0; i < slots_.size(); ++i) n += slot_available(i, now_ns) ? 1 : 0;
  return n;
}

const EndpointState* Balancer::find(const net::SocketAddress& address) const {
  for (const Slot& s : slots_) {
    if (s.state->address() == address) return s.state.get();
  }
  return nullptr;
}

// Vose's construction of Walker's alias table: O(n), once per update.
void Balancer::build_alias(const std::vector<Slot>& slots, uint64_t total, bool equal) {
  threshold_.clear();
  alias_.clear();
  if (equal || slots.size() < 2) return;
  constexpr uint32_t kAlways = 1u << 31;  // no 31-bit fraction reaches it: the slot keeps the draw
  const size_t n = slots.size();
  std::vector<double> share(n);  // weight × n / total: 1 is a fair share
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    share[i] = static_cast<double>(slots[i].weight) * n / static_cast<double>(total);
    (share[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  }
  threshold_.assign(n, kAlways);
  alias_.resize(n);
  for (size_t i = 0; i < n; ++i) alias_[i] = static_cast<uint32_t>(i);
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back();
    small.pop_back();
    const uint32_t l = large.back();
    threshold_[s] = static_cast<uint32_t>(share[s] * kAlways);
    alias_[s] = l;
    share[l] -= 1.0 - share[s];  // l gives s what s lacks of a fair share
    if (share[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // What is left over in either list is a fair share up to rounding: it keeps its draws.
}

size_t Balancer::draw(std::minstd_rand& rng) const {
  const uint64_t x = scaled(random31(rng), slots_.size());
  const size_t i = x >> 31;
  if (alias_.empty()) return i;
  // The low 31 bits of r × n are a fresh uniform fraction for the alias decision: one
  // generator step per draw.
  return (x & 0x7fffffff) < threshold_[i] ? i : alias_[i];
}

// A candidate other than `taken`, or kNone to draw again. Equal weights: one draw over the
// n - 1 others. Weighted: a plain draw, rejected when it lands on `taken`.
size_t Balancer::draw_other(size_t taken, std::minstd_rand& rng) const {
  if (alias_.empty()) {
    const size_t i = scaled(random31(rng), slots_.size() - 1) >> 31;
    return i < taken ? i : i + 1;
  }
  const size_t i = draw(rng);
  return i == taken ? kNone : i;
}

// Why (1 + pending × mean/weight) and not cost / weight: dividing the whole cost by the
// weight makes the heavier endpoint win every comparison between idle endpoints, so at low
// load it would take all the traffic. Here weights act twice, consistently: candidates are
// drawn in proportion to weight (which decides ties between equally fast idle endpoints),
// and under load an endpoint of weight 3 is as costly as one of weight 1 only with three
// times the requests outstanding. Equal weights give the plain estimate × (pending + 1).
size_t Balancer::better(size_t a, size_t b, uint64_t now_ns) const {
  const EndpointState& ea = *slots_[a].state;
  const EndpointState& eb = *slots_[b].state;
  // A due probe goes out now rather than waiting to win on cost: its stale estimate could
  // keep a healed endpoint out for a long time.
  if (ea.accrual_.probe_due(now_ns)) return a;
  if (eb.accrual_.probe_due(now_ns)) return b;
  const double cost_a =
      ea.ewma_.estimate_ns(now_ns) * (1.0 + ea.ewma_.pending() * slots_[a].load_scale);
  const double cost_b =
      eb.ewma_.estimate_ns(now_ns) * (1.0 + eb.ewma_.pending() * slots_[b].load_scale);
  return cost_b < cost_a ? b : a;
}

Pick Balancer::take(size_t i, uint64_t now_ns) {
  EndpointState& e = *slots_[i].state;
  const bool probe = e.accrual_.probe_due(now_ns);
  if (probe) e.accrual_.start_probe(now_ns);
  return Pick(slots_[i].state, probe);
}

std::expected<Pick, NoEndpoint> Balancer::pick(uint64_t now_ns, std::minstd_rand& rng) {
  if (slots_.empty()) return std::unexpected(NoEndpoint{NoEndpoint::Reason::kNoEndpoints, 0});
  if (slots_.size() == 1) {
    if (!slot_available(0, now_ns)) {
      return std::unexpected(NoEndpoint{NoEndpoint::Reason::kAllEjected, 1});
    }
    return take(0, now_ns);
  }
  size_t a = kNone;
  for (int i = 0; i < kDrawAttempts && a == kNone; ++i) {
    const size_t c = draw(rng);
    if (slot_available(c, now_ns)) a = c;
  }
  if (a == kNone) return pick_slow(kNone, now_ns, rng);
  size_t b = kNone;
  for (int i = 0; i < kDrawAttempts && b == kNone; ++i) {
    const size_t c = draw_other(a, rng);
    if (c != kNone && slot_available(c, now_ns)) b = c;
  }
  // The slow path keeps `a`: redrawing it too would favour endpoints whose second draw is
  // easy, and the draws would no longer follow the weights.
  if (b == kNone) return pick_slow(a, now_ns, rng);
  return take(better(a, b, now_ns), now_ns);
}

// The draws keep missing (most of the set is unavailable, or one weight dwarfs the rest):
// list the available endpoints and draw from the list, O(n). `a` is the first candidate if
// the fast path found one.
std::expected<Pick, NoEndpoint> Balancer::pick_slow(size_t a, uint64_t now_ns,
                                                    std::minstd_rand& rng) {
  scratch_.clear();
  uint64_t total = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slot_available(i, now_ns)) continue;
    scratch_.push_back(i);
    total += slots_[i].weight;
  }
  if (scratch_.empty()) {
    return std::unexpected(NoEndpoint{NoEndpoint::Reason::kAllEjected, slots_.size()});
  }
  if (scratch_.size() == 1) return take(scratch_.front(), now_ns);

  // A draw proportional to weight over the list without `skip`.
  auto draw_listed = [&](uint64_t r, size_t skip) {
    for (size_t i : scratch_) {
      if (i == skip) continue;
      if (r < slots_[i].weight) return i;
      r -= slots_[i].weight;
    }
    assert(false && "draw beyond the total weight");
    return scratch_.front() == skip ? scratch_.back() : scratch_.front();
  };
  if (a == kNone) a = draw_listed(uniform_below(total, rng), kNone);
  const size_t b = draw_listed(uniform_below(total - slots_[a].weight, rng), a);
  return take(better(a, b, now_ns), now_ns);
}

}  // namespace lmesh::proxy::balance
