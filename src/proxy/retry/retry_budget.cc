#include "proxy/retry/retry_budget.h"

#include <algorithm>

namespace lmesh::proxy {

RetryBudget::RetryBudget(const discovery::RetryBudget& settings)
    : settings_(settings),
      slot_ns_(std::max<uint64_t>(1, uint64_t{settings.ttl_s} * 1'000'000'000 / kSlots)) {}

RetryBudget::Slot& RetryBudget::current(uint64_t now_ns) {
  uint64_t epoch = now_ns / slot_ns_ + 1;  // + 1: epoch 0 marks a never-used slot
  Slot& s = slots_[epoch % kSlots];
  if (s.epoch != epoch) s = Slot{epoch, 0, 0};
  return s;
}

void RetryBudget::deposit(uint64_t now_ns) {
  ++current(now_ns).requests;
}

bool RetryBudget::withdraw(uint64_t now_ns) {
  Slot& now = current(now_ns);
  uint64_t epoch = now.epoch;
  uint64_t requests = 0;
  uint64_t retries = 0;
  for (const Slot& s : slots_) {
    if (s.epoch != 0 && s.epoch + kSlots > epoch) {  // within the last ttl
      requests += s.requests;
      retries += s.retries;
    }
  }
  double allowed = settings_.ratio * static_cast<double>(requests) +
                   static_cast<double>(settings_.min_per_second) * settings_.ttl_s;
  if (static_cast<double>(retries) + 1 > allowed) return false;
  ++now.retries;
  return true;
}

}  // namespace lmesh::proxy
