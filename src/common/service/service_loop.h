// The run/stop skeleton every control-plane process shares: lmesh-destination and
// lmesh-identity use it, and lmesh-tap (src/tap/tap_service.cc) is meant to, so that the three
// stop in the same order and cannot drift apart. A service owns one Worker, one api::Server
// and parts of its own (a backend, a token validator, scrape rounds); SIGTERM or SIGINT stops
// it, and the process exits once the loop has ended.
//
// How a service adopts it:
//   - declare `event::Worker worker_` first and `service::ServiceLoop loop_{worker_}` last: the
//     loop's signal handles must be closed before the worker that owns their loop is destroyed;
//   - end start(), once nothing can fail any more, with
//       loop_.stop_on_signals(server_->api_server(), [this] { /* close own parts */ });
//   - run() is loop_.run().
//
// A stop closes, in this order: the service's own parts (a backend that would go on feeding
// the server's streams, pending token reviews that would answer through it), the api::Server
// (its listener, then every connection with a flushing close), the signal handles, and the
// worker's post queue. The loop then ends by itself once the connections have finished
// closing: that is the wait the api::Server needs before it may be destroyed
// (api::Server::close()), and Worker::run() asserts that no handle was left open.
#pragma once

#include <uv.h>

#include <functional>

#include "common/api/server.h"
#include "common/event/uv_handle.h"
#include "common/event/worker.h"

namespace lmesh::service {

class ServiceLoop {
 public:
  // `worker` must outlive this object. Loop thread only, like everything on a Worker.
  explicit ServiceLoop(event::Worker& worker) : worker_(worker) {}
  ServiceLoop(const ServiceLoop&) = delete;
  ServiceLoop& operator=(const ServiceLoop&) = delete;

  // From now on SIGTERM and SIGINT call stop(). Call it last in start(): a start that fails
  // earlier leaves no signal handle behind, and the process exits with the default handlers.
  // `server` must outlive run(). `close_own_parts` runs first when the service stops and must
  // close or start closing every handle the service keeps on the worker outside the server.
  void stop_on_signals(api::Server& server, std::function<void()> close_own_parts);

  // Runs the worker's loop on this thread until stop() and until every handle, the server's
  // connections included, has closed.
  void run();

  // What a signal does; later calls do nothing.
  void stop();

 private:
  static void on_signal(uv_signal_t* handle, int signum);

  event::Worker& worker_;
  api::Server* server_ = nullptr;
  std::function<void()> close_own_parts_;
  bool stopped_ = false;
  event::UvHandle<uv_signal_t> sigterm_;
  event::UvHandle<uv_signal_t> sigint_;
};

}  // namespace lmesh::service
