#include "destination/endpoint_diff.h"

#include <unordered_map>

namespace lmesh::destination {

using discovery::Endpoint;
using discovery::ResolveUpdate;

ResolveUpdate initial_update(const std::vector<Endpoint>& endpoints) {
  ResolveUpdate u;
  if (endpoints.empty()) {
    u.no_endpoints = true;
  } else {
    u.add = endpoints;
  }
  return u;
}

std::vector<ResolveUpdate> diff_endpoints(const std::vector<Endpoint>& before,
                                          const std::vector<Endpoint>& after) {
  std::vector<ResolveUpdate> lines;
  if (after.empty()) {
    if (!before.empty()) lines.push_back(initial_update(after));  // no_endpoints
    return lines;
  }
  std::unordered_map<net::SocketAddress, const Endpoint*> old;
  old.reserve(before.size());
  for (const Endpoint& e : before) old.emplace(e.address, &e);
  ResolveUpdate added;
  for (const Endpoint& e : after) {
    auto it = old.find(e.address);
    if (it == old.end() || !(*it->second == e)) added.add.push_back(e);
    if (it != old.end()) old.erase(it);
  }
  if (!added.add.empty()) lines.push_back(std::move(added));
  if (!old.empty()) {
    ResolveUpdate removed;
    for (const Endpoint& e : before) {  // in the old order, not the hash map's
      if (old.contains(e.address)) removed.remove.push_back(e.address);
    }
    lines.push_back(std::move(removed));
  }
  return lines;
}

}  // namespace lmesh::destination
