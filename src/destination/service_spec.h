// What a backend (the mesh file today, Kubernetes next) knows about one service: the unit the
// Store takes, compares and serves.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/discovery/endpoint.h"
#include "common/discovery/profile.h"

namespace lmesh::destination {

struct ServiceSpec {
  // "host:port", normalized (normalize_authority); the name proxies ask for.
  std::string authority;
  // Other names of the same service (short names, a virtual IP:port), normalized too. An alias
  // names one service only and is never another service's authority.
  std::vector<std::string> aliases;
  // In the backend's order. Addresses are unique within a service: the Store keeps the first
  // endpoint of an address given twice.
  std::vector<discovery::Endpoint> endpoints;
  // Unset: proxies get the default profile (no routes, the default retry budget).
  std::optional<discovery::Profile> profile;
};

}  // namespace lmesh::destination
