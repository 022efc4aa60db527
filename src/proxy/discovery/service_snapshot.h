// What the proxy knows about one authority from lmesh-destination, as an immutable snapshot
// the control thread publishes to every worker (DESIGN.md: discovery arrives beside the
// request path and never blocks it).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/discovery/endpoint.h"
#include "common/discovery/profile.h"

namespace lmesh::proxy {

struct ServiceSnapshot {
  enum class State {
    // The destination service knows the authority: balance over `endpoints` (possibly none:
    // fail fast) with `profile`.
    kResolved,
    // It does not (404): requests go where they were going, to the original destination or
    // the name's DNS address. Asked again after `kNotFoundRecheck`.
    kNotFound,
  };

  std::string authority;
  State state = State::kNotFound;
  std::vector<discovery::Endpoint> endpoints;
  std::shared_ptr<const discovery::Profile> profile;  // never null
};

// A service that appears after a proxy asked about it is found on the first request after
// this long (Linkerd re-resolves unknown names the same lazy way).
constexpr std::chrono::seconds kNotFoundRecheck{30};

}  // namespace lmesh::proxy
