// One worker's copy of what discovery said, per authority, and the balancer that spreads
// that worker's requests over the service's endpoints (STYLE.md §2: balancer state is per
// worker, nothing is shared on the request path). Snapshots arrive from the DiscoveryHub on
// the control thread through Worker::post and replace what was known.
//
// The first request for an authority asks the hub and waits, up to --discovery-timeout, for
// the destination service's first answer; every later request is answered from the cache at
// once, also while the destination service is away.
//
// A request for a service with no endpoints waits for some, up to --failfast-timeout, as in
// Linkerd's balancer queue: a service scaled from zero, or one whose pods were announced a
// moment after its clients started, is then a short wait instead of a 503. When the wait
// runs out the service fails fast: its waiting requests and every later one get 503 at once
// until discovery gives it an endpoint again.
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
    // A wait for endpoints ran out and none has come since: requests no longer wait.
    bool failing_fast = false;

    bool resolved() const {
      return snapshot != nullptr && snapshot->state == ServiceSnapshot::State::kResolved;
    }
  };

  // A lookup waiting for the first answer, or for a service's first endpoints: dropping it
  // cancels (its callback never runs).
  class PendingLookup {
   public:
    ~PendingLookup();
    PendingLookup(const PendingLookup&) = delete;
    PendingLookup& operator=(const PendingLookup&) = delete;

   private:
    friend class DiscoveryCache;
    PendingLookup(DiscoveryCache& cache, Service& service, bool for_endpoints,
                  std::function<void(Result<Service*>)> done);
    void finish(Result<Service*> answer);
    void timed_out();

    DiscoveryCache& cache_;
    Service* service_;  // null once answered
    bool for_endpoints_;
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

  struct Timeouts {
    // A first lookup waits this long for the destination service's answer.
    std::chrono::milliseconds answer{3'000};
    // A request waits this long for a service without endpoints to get some.
    std::chrono::milliseconds failfast{3'000};
    // How long an unknown authority's answer is trusted before it is asked about again, and
    // how long an entry nobody uses is kept.
    std::chrono::milliseconds not_found_ttl = kNotFoundRecheck;
  };

  DiscoveryCache(event::Worker& worker, Timeouts timeouts, EndpointIdentities& identities, Ask ask);
  ~DiscoveryCache();
  DiscoveryCache(const DiscoveryCache&) = delete;
  DiscoveryCache& operator=(const DiscoveryCache&) = delete;

  // `done` runs later, on this worker, only when the answer is pending: with the service,
  // with null (not found), or with a kTimeout error.
  Lookup lookup(std::string_view authority, std::function<void(Result<Service*>)> done);

  // A balanced choice among the service's endpoints, or why there is none.
  std::expected<balance::Pick, balance::NoEndpoint> pick(Service& service);
  // After pick() found no endpoints at all: a wait for the service's first endpoints, whose
  // `done` runs with the service (pick again), with null (discovery no longer knows it) or
  // with a kTimeout error after --failfast-timeout. Null when the service fails fast or
  // has endpoints: the request fails now.
  std::unique_ptr<PendingLookup> await_endpoints(Service& service,
                                                 std::function<void(Result<Service*>)> done);

  // Worker thread: the hub's newest word on one authority.
  void apply(std::shared_ptr<const ServiceSnapshot> snapshot);

  size_t size() const { return services_.size(); }
  // Worker shutdown, on its loop: the cache's own timer closes so the loop can end.
  void close() { sweep_timer_.reset(); }
  // The worker's random source for routing decisions (splits, injected faults).
  std::minstd_rand& rng() { return rng_; }

 private:
  Service& entry(std::string_view authority);
  // A wait for `service`'s endpoints ran out: it and every other such wait fail.
  void fail_fast(Service& service);
  // Forgets authorities discovery does not know (or never answered for) that have not been
  // looked up for a while: applications may make up any number of names.
  void sweep();

  event::Worker& worker_;
  Timeouts timeouts_;
  EndpointIdentities& identities_;
  Ask ask_;
  std::minstd_rand rng_;
  std::unordered_map<std::string, std::unique_ptr<Service>> services_;
  uint64_t not_found_ttl_ns_;
  std::unique_ptr<event::Timer> sweep_timer_;  // null once closed
};

}  // namespace lmesh::proxy
