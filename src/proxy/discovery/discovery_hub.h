// Follows lmesh-destination for the proxy (DESIGN.md "Wire API"): one /v1/resolve and one
// /v1/profile stream per authority, shared by every worker, all on one HTTP/2 connection.
// Each change becomes a new ServiceSnapshot that `publish` hands to the workers.
//
// When the destination service goes away the streams reconnect with backoff (api::Watch) and
// the last-known endpoints keep serving meanwhile: a restart of the destination service costs
// no requests. A reconnected stream starts over with the full endpoint set, which replaces
// what was known.
//
// Runs on the control thread; workers ask for an authority through subscribe(), posted.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/api/client.h"
#include "common/event/timer.h"
#include "common/event/worker.h"
#include "common/metrics/snapshot.h"
#include "common/net/socket_address.h"
#include "proxy/discovery/service_snapshot.h"

namespace lmesh::proxy {

class DiscoveryHub {
 public:
  using Publish = std::function<void(std::shared_ptr<const ServiceSnapshot>)>;

  // `not_found_ttl`: how long an unknown authority's answer is trusted; also how often the
  // hub forgets authorities nobody can be using any more (bounded memory however many names
  // applications make up).
  DiscoveryHub(event::Worker& control, net::SocketAddress destination, api::ClientOptions options,
               Publish publish, std::chrono::milliseconds not_found_ttl = kNotFoundRecheck);
  ~DiscoveryHub();
  DiscoveryHub(const DiscoveryHub&) = delete;
  DiscoveryHub& operator=(const DiscoveryHub&) = delete;

  // Starts following `authority` ("host:port") unless it already does; publishes what is
  // known at once when the destination service has answered before. An authority found
  // unknown is asked again once kNotFoundRecheck has passed.
  void subscribe(const std::string& authority);

  // discovery_authorities{state} and discovery_stream_errors_total.
  void append_metrics(metrics::Snapshot& snapshot) const;

 private:
  struct Followed;
  void follow(Followed& f);
  void on_resolve_line(Followed& f, std::string_view line);
  void on_profile_line(Followed& f, std::string_view line);
  void profile_settled(Followed& f);
  void publish(Followed& f);
  // Drops authorities found unknown, or never answered for, a while ago: a worker that still
  // wants one asks again (its own cache forgets them the same way).
  void sweep();

  event::Worker& control_;
  api::Client client_;
  Publish publish_;
  std::unordered_map<std::string, std::unique_ptr<Followed>> followed_;
  std::chrono::milliseconds not_found_ttl_;
  event::Timer sweep_timer_;
  uint64_t stream_errors_ = 0;
  uint64_t bad_updates_ = 0;
};

// "/v1/resolve?authority=" + the authority, percent-encoded where a query needs it.
std::string discovery_target(std::string_view path, std::string_view authority);

}  // namespace lmesh::proxy
