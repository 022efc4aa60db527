// Where one HTTP request goes (DESIGN.md "The path of one request": router → profile →
// backend → balancer → endpoint), the same for HTTP/1 and HTTP/2 servers.
//
// Outbound, an authority the destination service knows is routed by its profile: the first
// matching route gives the request its policy (timeout, fault injection, response classes),
// the route's or the service's traffic split picks a backend service by weight, and that
// backend's balancer (peak-EWMA, P2C) picks the endpoint. Anything else goes where it was
// going: to the connection's destination or the authority's DNS address.
//
// The answer comes at once when the worker already knows everything; otherwise (the first
// request to an authority or backend, a service waiting for its first endpoints, an injected
// delay, a DNS name) it comes later through `done`, or never once the router is cancelled or
// dropped.
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/discovery/profile.h"
#include "common/event/timer.h"
#include "common/http/message.h"
#include "common/net/resolver.h"
#include "common/net/socket_address.h"
#include "common/result.h"
#include "proxy/balance/balancer.h"
#include "proxy/direction.h"
#include "proxy/discovery/discovery_cache.h"
#include "proxy/proxy_metrics.h"
#include "proxy/retry/retry_budget.h"
#include "proxy/routing.h"

namespace lmesh::proxy {

class ProxyWorker;

// The profile route a request matched, kept alive with its profile.
struct MatchedRoute {
  std::shared_ptr<const discovery::Profile> profile;
  const discovery::Route* route = nullptr;  // null: no route matched (or no profile)

  // The status counts as a failure: the route's response classes decide, else 5xx does.
  bool is_failure(int status) const { return route ? route->is_failure(status) : status >= 500; }
  // The route's timeout; zero when it has none.
  std::chrono::milliseconds timeout() const {
    return std::chrono::milliseconds(route ? route->timeout_ms : 0);
  }
};

struct Routed {
  net::SocketAddress address;
  // Set when the balancer chose: the request reports its outcome through it.
  std::optional<balance::Pick> pick;
  MatchedRoute matched;
  std::string service;  // the service the request named (empty: not routed by discovery)
  std::string backend;  // the service that answers (differs from `service` in a split)
  std::shared_ptr<RetryBudget> budget;  // the service's, on this worker
};

struct RouteFailure {
  ProxyError reason;
  Error cause;
  uint16_t status = 0;  // an injected abort's status; 0: the reason's
  // Set when the failure came after discovery named the service (no ready endpoints, an
  // unknown split backend, an injected abort): the request still counts as the route's, as
  // in Linkerd's route metrics.
  MatchedRoute matched;
  std::string service;
};

using RouteResult = std::expected<Routed, RouteFailure>;

class RequestRouter {
 public:
  using Done = std::function<void(RouteResult)>;

  // The route, or nullopt when it comes later through `done`. `request` and `target` must
  // outlive the routing (they belong to the caller's exchange, as this router does).
  std::optional<RouteResult> route(ProxyWorker& worker, Direction direction,
                                   const ConnectionTarget& target, const http::RequestHead& request,
                                   Done done);
  // Forgets a routing still in progress.
  void cancel();

 private:
  std::optional<RouteResult> on_service(DiscoveryCache::Service& service);
  std::optional<RouteResult> after_fault(DiscoveryCache::Service& service);
  std::optional<RouteResult> pick_from(DiscoveryCache::Service& backend);
  DiscoveryCache::Service* service_ = nullptr;  // the one the request named
  std::optional<RouteResult> without_discovery();
  // A failure that carries the service and route matched so far, if any.
  std::unexpected<RouteFailure> fail(ProxyError reason, Error cause, uint16_t status = 0) const;
  // Looks `authority` up; `then` continues with the service once it is known.
  std::optional<RouteResult> look_up(
      const std::string& authority,
      std::function<std::optional<RouteResult>(DiscoveryCache::Service*)> then);
  // Hands over a final result (nullopt: still pending). `done_` is moved out first: the
  // caller may start routing its next request from inside it.
  void finish(std::optional<RouteResult> result) {
    if (!result) return;
    Done done = std::move(done_);
    done(std::move(*result));
  }

  ProxyWorker* worker_ = nullptr;
  Direction direction_ = Direction::kOutbound;
  const ConnectionTarget* target_ = nullptr;
  const http::RequestHead* request_ = nullptr;
  Done done_;
  std::shared_ptr<const discovery::Profile> profile_;
  const discovery::Route* matched_ = nullptr;
  std::unique_ptr<DiscoveryCache::PendingLookup> lookup_;
  std::unique_ptr<net::Resolution> resolution_;
  std::unique_ptr<event::Timer> delay_;
};

// The key discovery knows a request's service by: "host:port", host lowercased, the port from
// the authority, else the original destination's, else 80. Empty when the request names no
// usable authority.
std::string discovery_authority(const ConnectionTarget& target, const http::RequestHead& request);
// The path a route's regex is matched against: the target's path, without query.
std::string_view request_path(const http::RequestHead& request);

}  // namespace lmesh::proxy
