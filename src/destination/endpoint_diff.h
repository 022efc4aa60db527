// The /v1/resolve lines that take a follower from one endpoint set to the next (pure
// functions, no state): what the Store sends when a backend changes a service.
#pragma once

#include <vector>

#include "common/discovery/endpoint.h"

namespace lmesh::destination {

// The first line of a stream: every endpoint in one "add", or {"no_endpoints":true} when there
// is none (the proxy then fails fast instead of waiting).
discovery::ResolveUpdate initial_update(const std::vector<discovery::Endpoint>& endpoints);

// The lines, in sending order, from `before` to `after`: one "add" with the new and changed
// endpoints (an add replaces the endpoint at its address), then one "remove" with the
// addresses gone, so a follower never sees an empty set while endpoints are replaced. When
// `after` is empty and `before` was not: {"no_endpoints":true} alone. Nothing when equal.
std::vector<discovery::ResolveUpdate> diff_endpoints(const std::vector<discovery::Endpoint>& before,
                                                     const std::vector<discovery::Endpoint>& after);

}  // namespace lmesh::destination
