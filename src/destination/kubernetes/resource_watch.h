// LIST then WATCH of one kind of object, cluster-wide, for as long as it lives: what client-go's
// reflector does, on our loop.
//
//   LIST  GET <path>?limit=500[&continue=...]           pages, until the list is whole
//         -> Handler::on_listed(all items), resourceVersion := the list's
//   WATCH GET <path>?watch=1&allowWatchBookmarks=true&resourceVersion=RV&timeoutSeconds=N
//         each line {"type":...,"object":...}:
//           ADDED/MODIFIED/DELETED -> on_event, RV := the object's
//           BOOKMARK               -> RV := the bookmark's (nothing changed, but a re-watch
//                                     can start later in history; no event to apply)
//           ERROR 410 Gone         -> our RV is too old: LIST again (a "re-list")
//           not an event           -> on_malformed (logged and counted); the watch goes on
//         the stream ends or breaks -> the watch reconnects (api::Client's backoff with full
//         jitter) from the latest RV, so nothing between is missed
//   A failed LIST is retried with backoff; the last good state keeps serving meanwhile.
//   A 404 on an optional resource (a CRD not installed) is an empty list, logged once and
//   checked again every 30 s, so installing the CRD later needs no restart.
//
// timeoutSeconds (5 to 10 minutes, random, as client-go picks it) makes the API server end each
// watch now and then. A watch still open a grace period after its timeoutSeconds is presumed
// dead (a half-open connection: the API server's node went away without a FIN or RST, and our
// sockets have no TCP keepalive) and is replaced by a new one from the same resourceVersion.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/api/client.h"
#include "common/event/timer.h"
#include "destination/kubernetes/api_connection.h"
#include "destination/kubernetes/api_messages.h"
#include "destination/kubernetes/objects.h"

namespace lmesh::destination::kubernetes {

struct Resource {
  Kind kind;
  std::string_view path;            // "/api/v1/services"
  std::string_view label_selector;  // narrows what is listed and watched; "" for everything
  bool optional;                    // a custom resource: its CRD may not be installed
};
const Resource& resource(Kind kind);

struct ResourceWatchOptions {
  size_t page_size = 500;
  std::chrono::milliseconds absent_recheck{30'000};
  std::chrono::seconds watch_timeout{300};        // the server ends a watch after 1x to 2x this
  std::chrono::milliseconds stall_grace{60'000};  // past its timeoutSeconds: presumed dead
};

class ResourceWatch {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Every object of the kind (the first list, or a re-list that replaces what was known).
    virtual void on_listed(Kind kind, std::vector<nlohmann::json> items, bool relist) = 0;
    // ADDED, MODIFIED, DELETED, and BOOKMARK and ERROR for counting (already acted on).
    virtual void on_event(Kind kind, WatchEvent event) = 0;
    // A watch line that is not a watch event.
    virtual void on_malformed(Kind kind, const discovery::FieldError& why,
                              std::string_view line) = 0;
  };

  // `api` and `handler` must outlive the watch. Nothing happens before start().
  ResourceWatch(ApiConnection& api, Kind kind, Handler& handler, ResourceWatchOptions options = {});
  ~ResourceWatch();
  ResourceWatch(const ResourceWatch&) = delete;
  ResourceWatch& operator=(const ResourceWatch&) = delete;

  void start() { list(); }
  const std::string& resource_version() const { return rv_; }

 private:
  enum class State { kIdle, kListing, kWatching, kWaiting };

  void list();
  void request_page();
  void on_page(Result<api::ClientResponse> response);
  // Lists again after `delay` (from the loop, never inside a callback of the watch or call).
  void list_after(std::chrono::milliseconds delay);
  void watch();
  std::string watch_target();
  bool on_watch_open(int status);
  void on_watch_line(std::string_view line);
  void on_watch_error(const Error& why, std::chrono::milliseconds retry_in);
  void on_timer();
  void on_stalled();
  // Lists again because the watch expired: at once the first time, with backoff when it keeps
  // expiring before any event arrives (a server that cannot keep up must not be hammered).
  void relist_expired();
  // Drops a finished call on a later turn: it is still on the stack of its own callback.
  void retire_call();
  std::string_view name() const { return to_string(resource_.kind); }

  ApiConnection& api_;
  const Resource& resource_;
  Handler& handler_;
  ResourceWatchOptions options_;
  State state_ = State::kIdle;
  std::string rv_;
  std::string continue_;
  std::vector<nlohmann::json> items_;  // of the list being paged in
  bool listed_ = false;                // a list has been delivered (later ones are re-lists)
  bool absent_ = false;                // the last list was a 404 of an optional resource
  unsigned list_attempt_ = 0;
  unsigned expired_in_a_row_ = 0;
  int watch_status_ = 0;
  unsigned watch_timeout_s_ = 0;  // asked of the current watch connection
  std::unique_ptr<api::Call> call_;
  std::unique_ptr<api::Watch> watch_;
  event::Timer timer_;
  event::Timer stall_;
  std::minstd_rand rng_;
};

}  // namespace lmesh::destination::kubernetes
