// One worker's copy of what discovery said, per authority, and the balancer that spreads
// that worker's requests over the service's endpoints (STYLE.md §2: balancer state is per
// worker, nothing is shared on the request path). Snapshots arrive from the DiscoveryHub on
// the control thread through Worker::post and replace what was known.
//
// The first request for an authority asks the hub and waits, up to --discovery-timeout, for
// the destination service's first answer; every later request is answered from the cache at
// once, also while the destination service is away.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/event/timer.h"
#include "common/event/worker.h"
#include "common/result.h"
#include "proxy/balance/balancer.h"
#include "proxy/discovery/endpoint_identities.h"
#include "proxy/discovery/service_snapshot.h"
#include "proxy/retry/retry_budget.h"

namespace lmesh::proxy {

class DiscoveryCache {
 public:
  // Asks the hub to follow an authority (posts to the control thread).
  using Ask = std::function<void(const std::string& authority)>;

  class PendingLookup;

  struct Service {
    std::string authority;
    std::shared_ptr<const ServiceSnapshot> snapshot;  // null until the first answer
    balance::Balancer balancer;
    // The profile's retry budget on this worker; replaced when the profile changes it.
    std::shared_ptr<RetryBudget> budget;
    uint64_t asked_ns = 0;
    uint64_t used_ns = 0;  // the last lookup
    std::vector<PendingLookup*> waiting;

    bool resolved() const {
      return snapshot != nullptr && snapshot->state == ServiceSnapshot::State::kResolved;
    }
  };

  // A lookup waiting for the first answer: dropping it cancels (its callback never runs).
  class PendingLookup {
   public:
    ~PendingLookup();
    PendingLookup(const PendingLookup&) = delete;
    PendingLookup& operator=(const PendingLookup&) = delete;

   private:
    friend class DiscoveryCache;
    PendingLookup(DiscoveryCache& cache, Service& service,
                  std::function<void(Result<Service*>)> done);
    void finish(Result<Service*> answer);

    DiscoveryCache& cache_;
    Service* service_;  // null once answered
    std::function<void(Result<Service*>)> done_;
    event::Timer timeout_;
  };

  // What lookup() found: a known service (balance over it), an authority discovery does not
  // know (send the request where it was going), or a pending answer.
  struct Lookup {
    Service* service = nullptr;  // resolved
    std::unique_ptr<PendingLookup> pending;
    bool not_found() const { return service == nullptr && pending == nullptr; }
  };

  // `not_found_ttl`: how long an unknown authority's answer is trusted before it is asked
  // about again, and how long an entry nobody uses is kept.
  DiscoveryCache(event::Worker& worker, std::chrono::milliseconds timeout,
                 EndpointIdentities& identities, Ask ask,
                 std::chrono::milliseconds not_found_ttl = kNotFoundRecheck);
  ~DiscoveryCache();
  DiscoveryCache(const DiscoveryCache&) = delete;
  DiscoveryCache& operator=(const DiscoveryCache&) = delete;

  // `done` runs later, on this worker, only when the answer is pending: with the service,
  // with null (not found), or with a kTimeout error.
  Lookup lookup(std::string_view authority, std::function<void(Result<Service*>)> done);

  // A balanced choice among the service's endpoints, or why there is none (fail fast).
  std::expected<balance::Pick, balance::NoEndpoint> pick(Service& service);

  // Worker thread: the hub's newest word on one authority.
  void apply(std::shared_ptr<const ServiceSnapshot> snapshot);

  size_t size() const { return services_.size(); }
  // Worker shutdown, on its loop: the cache's own timer closes so the loop can end.
  void close() { sweep_timer_.reset(); }
  // The worker's random source for routing decisions (splits, injected faults).
  std::minstd_rand& rng() { return rng_; }

 private:
  Service& entry(std::string_view authority);
  // Forgets authorities discovery does not know (or never answered for) that have not been
  // looked up for a while: applications may make up any number of names.
  void sweep();

  event::Worker& worker_;
  std::chrono::milliseconds timeout_;
  EndpointIdentities& identities_;
  Ask ask_;
  std::minstd_rand rng_;
  std::unordered_map<std::string, std::unique_ptr<Service>> services_;
  uint64_t not_found_ttl_ns_;
  std::unique_ptr<event::Timer> sweep_timer_;  // null once closed
};

}  // namespace lmesh::proxy
