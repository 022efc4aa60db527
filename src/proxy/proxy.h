// The whole proxy process: N workers (one loop and thread each) that carry traffic, and the
// control thread (the caller's) that handles signals, the admin server and the shutdown
// sequence: drain every worker, wait for in-flight work up to --shutdown-grace, then stop.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/event/timer.h"
#include "common/event/uv_handle.h"
#include "common/event/worker.h"
#include "common/identity/identity_client.h"
#include "common/result.h"
#include "proxy/admin/admin_server.h"
#include "proxy/config.h"
#include "proxy/discovery/discovery_hub.h"
#include "proxy/identity/mesh_tls.h"
#include "proxy/proxy_worker.h"
#include "proxy/tap/tap_hub.h"

namespace lmesh::proxy {

class Proxy {
 public:
  explicit Proxy(ProxyConfig config);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Binds every listener (so port conflicts fail here, before anything runs) and starts the
  // worker threads.
  Result<void> start();
  // Runs the control loop until shutdown has finished; joins the workers.
  void run();

 private:
  static void on_signal(uv_signal_t* handle, int signum);
  void begin_shutdown();
  void worker_drained();
  void stop_workers();
  void scrape(std::function<void(std::string)> reply);
  Result<void> start_identity();
  TapAccess tap_access() const;
  void start_discovery();
  // Ready once listening and, with identity on, holding a certificate (DESIGN.md "Identity").
  bool ready() const {
    return started_ && !shutting_down_ && (identity_ == nullptr || identity_->has_certificate());
  }

  std::shared_ptr<const ProxyConfig> config_;
  event::Worker control_;
  std::vector<std::unique_ptr<event::Worker>> workers_;
  std::vector<std::unique_ptr<ProxyWorker>> proxy_workers_;
  // Before admin_: tap streams the admin server closes late still find it.
  std::unique_ptr<TapHub> taps_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<identity::IdentityClient> identity_;
  // The newest certificate's contexts, on the control thread (the admin server's TLS).
  std::shared_ptr<const MeshTls> mesh_tls_;
  // Every MeshTls of this process seals session tickets with it, so peers resume across
  // renewals.
  tls::TicketKey ticket_key_ = tls::random_ticket_key();
  std::unique_ptr<DiscoveryHub> discovery_;
  event::UvHandle<uv_signal_t> sigterm_;
  event::UvHandle<uv_signal_t> sigint_;
  std::unique_ptr<event::Timer> grace_timer_;
  size_t drained_ = 0;
  bool started_ = false;
  bool shutting_down_ = false;
  bool stopped_ = false;
};

}  // namespace lmesh::proxy
