#include "proxy/proxy.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "common/fs/read_file.h"
#include "common/metrics/build_info.h"
#include "common/metrics/process_metrics.h"
#include "common/metrics/prometheus_text.h"

namespace lmesh::proxy {

Proxy::Proxy(ProxyConfig config)
    : config_(std::make_shared<const ProxyConfig>(std::move(config))), control_(0) {
  for (unsigned i = 0; i < config_->workers; ++i) {
    workers_.push_back(std::make_unique<event::Worker>(i + 1));
    event::Worker& w = *workers_.back();
    proxy_workers_.push_back(std::make_unique<ProxyWorker>(w, config_, [this] {
      // On the worker's thread: tell the control thread.
      control_.post([this] { worker_drained(); });
    }));
  }
}

Proxy::~Proxy() {
  for (auto& w : workers_) w->join();
}

namespace {

// Fails unless `ip` is an address of this host, which binding to it proves (the kernel's
// EADDRNOTAVAIL), so that a wrong --outbound-bind stops the start rather than every request.
Result<void> check_local_address(const net::SocketAddress& ip) {
  int fd = ::socket(ip.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(Error::from_uv(-errno, "socket"));
  int rc = ::bind(fd, ip.sockaddr_ptr(), ip.length());
  int err = errno;
  ::close(fd);
  if (rc != 0) return fail(Error::from_uv(-err, "--outbound-bind " + ip.ip()));
  return {};
}

}  // namespace

Result<void> Proxy::start() {
  if (config_->outbound_bind) {
    if (auto local = check_local_address(*config_->outbound_bind); !local) return local;
  }
  // Port 0 asks the kernel for a free port; with SO_REUSEPORT every worker must then bind the
  // port the first one got, so the first bind decides for all.
  for (Direction d : {Direction::kOutbound, Direction::kInbound}) {
    net::SocketAddress address =
        d == Direction::kOutbound ? config_->outbound_listen : config_->inbound_listen;
    for (auto& pw : proxy_workers_) {
      auto bound = pw->listen(d, address);
      if (!bound) return fail(bound.error());
      address = *bound;
    }
    spdlog::info("listening listener={} addr={} workers={}", to_string(d), address.to_string(),
                 proxy_workers_.size());
  }
  for (Direction d : {Direction::kOutbound, Direction::kInbound}) {
    for (const ServiceListener& service : d == Direction::kOutbound
                                              ? config_->outbound_service_listeners
                                              : config_->inbound_forward_listeners) {
      net::SocketAddress address = service.listen;
      for (auto& pw : proxy_workers_) {
        auto bound = pw->listen_for(d, address, service.target);
        if (!bound) return fail(bound.error());
        address = *bound;
      }
      spdlog::info("listening listener={} addr={} for={} workers={}", to_string(d),
                   address.to_string(), service.target.to_string(), proxy_workers_.size());
    }
  }
  taps_ = std::make_unique<TapHub>(
      control_, proxy_workers_.size(),
      [this](std::shared_ptr<const WorkerTaps::Subscribers> open) {
        for (auto& pw : proxy_workers_) {
          ProxyWorker* p = pw.get();
          p->worker().post([p, open] { p->taps().set(open); });
        }
      },
      TapLimits{}, tap_access());
  admin_ = std::make_unique<AdminServer>(
      control_,
      [this]() -> std::shared_ptr<const tls::Context> {
        return mesh_tls_ != nullptr ? mesh_tls_->admin : nullptr;
      },
      [this] { return ready(); },
      [this](std::function<void(std::string)> reply) { scrape(std::move(reply)); },
      [this](const api::Request& request, std::shared_ptr<api::Response> response) {
        taps_->open(request, std::move(response));
      });
  auto admin_bound = admin_->listen(config_->admin_listen);
  if (!admin_bound) return fail(admin_bound.error());
  spdlog::info("listening listener=admin addr={} workers=1", admin_bound->to_string());

  if (auto ok = start_identity(); !ok) return ok;
  start_discovery();

  sigterm_.init(uv_signal_init, control_.loop());
  sigterm_.get()->data = this;
  uv_signal_start(sigterm_.get(), &Proxy::on_signal, SIGTERM);
  sigint_.init(uv_signal_init, control_.loop());
  sigint_.get()->data = this;
  uv_signal_start(sigint_.get(), &Proxy::on_signal, SIGINT);

  for (auto& w : workers_) w->start_thread();
  started_ = true;
  return {};
}

Result<void> Proxy::start_identity() {
  if (!config_->identity_enabled()) return {};
  // fs::read_file, not std::ifstream: see read_token in common/identity/identity_client.cc.
  auto pem = fs::read_file(config_->trust_anchors_file);
  if (!pem)
    return fail(ErrorCode::kInvalidArgument,
                "cannot read --trust-anchors " + config_->trust_anchors_file);
  auto anchors = tls::Certificate::all_from_pem(*pem);
  if (!anchors) {
    return fail(Error::wrap(anchors.error(), "--trust-anchors " + config_->trust_anchors_file));
  }
  identity::IdentitySettings settings{*config_->identity_addr, config_->identity_name,
                                      config_->identity_token_file, config_->identity_server_name,
                                      *anchors};
  auto client = identity::IdentityClient::make(
      control_, std::move(settings),
      [this, anchors = std::move(*anchors)](const tls::Credentials& credentials) -> Result<void> {
        auto snapshot = MeshTls::make(config_->identity_name, credentials, anchors, ticket_key_);
        if (!snapshot) return fail(snapshot.error());
        mesh_tls_ = *snapshot;  // the admin server's next TLS connection takes it
        for (auto& pw : proxy_workers_) {
          ProxyWorker* p = pw.get();
          p->worker().post([p, snapshot = *snapshot] { p->set_mesh_tls(snapshot); });
        }
        return {};
      });
  if (!client) return fail(Error::wrap(client.error(), "identity"));
  identity_ = std::move(*client);
  identity_->start();
  spdlog::info("identity name={} identity_addr={} tap_identity={}", config_->identity_name,
               config_->identity_addr->to_string(), config_->tap_identity);
  return {};
}

TapAccess Proxy::tap_access() const {
  // Without an identity there is no certificate to prove anything with: loopback only.
  return TapAccess{config_->identity_enabled() ? config_->tap_identity : std::string()};
}

void Proxy::start_discovery() {
  if (!config_->destination_addr) return;
  discovery_ = std::make_unique<DiscoveryHub>(
      control_, *config_->destination_addr, api::ClientOptions{},
      [this](std::shared_ptr<const ServiceSnapshot> snapshot) {
        for (auto& pw : proxy_workers_) {
          ProxyWorker* p = pw.get();
          p->worker().post([p, snapshot] { p->discovery()->apply(snapshot); });
        }
      });
  for (auto& pw : proxy_workers_) {
    pw->enable_discovery([this](const std::string& authority) {
      // On a worker's thread: the hub lives on the control thread.
      control_.post([this, authority] {
        if (discovery_ != nullptr) discovery_->subscribe(authority);
      });
    });
  }
  spdlog::info("discovery destination_addr={}", config_->destination_addr->to_string());
}

void Proxy::run() {
  control_.run();
  for (auto& w : workers_) w->join();
  spdlog::info("stopped");
}

void Proxy::on_signal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<Proxy*>(handle->data);
  if (self == nullptr) return;
  if (self->shutting_down_) {
    spdlog::warn("signal {} during shutdown: stopping now", signum);
    self->stop_workers();
    return;
  }
  spdlog::info("signal {}: draining for up to {} ms", signum,
               self->config_->shutdown_grace.count());
  self->begin_shutdown();
}

void Proxy::begin_shutdown() {
  shutting_down_ = true;
  for (auto& pw : proxy_workers_) {
    ProxyWorker* p = pw.get();
    if (!p->worker().post([p] { p->drain(); })) worker_drained();
  }
  grace_timer_ = std::make_unique<event::Timer>(control_.loop(), [this] {
    spdlog::warn("shutdown grace period over: closing remaining connections");
    stop_workers();
  });
  grace_timer_->arm(config_->shutdown_grace);
}

void Proxy::worker_drained() {
  if (++drained_ == proxy_workers_.size()) {
    spdlog::info("all workers drained");
    stop_workers();
  }
}

void Proxy::stop_workers() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& pw : proxy_workers_) {
    ProxyWorker* p = pw.get();
    p->worker().post([p] { p->shutdown(); });
  }
  grace_timer_.reset();
  identity_.reset();
  discovery_.reset();
  if (taps_) taps_->close_all();
  if (admin_) admin_->close();
  sigterm_.close();
  sigint_.close();
  control_.stop();
}

void Proxy::scrape(std::function<void(std::string)> reply) {
  // Each worker snapshots its own shard on its own thread; the control thread sums them.
  struct Scrape {
    size_t remaining;
    metrics::Snapshot total;
    std::function<void(std::string)> reply;
  };
  auto state = std::make_shared<Scrape>(Scrape{proxy_workers_.size(), {}, std::move(reply)});
  auto finish = [this, state] {
    if (identity_ != nullptr) identity_->append_metrics(state->total);
    if (discovery_ != nullptr) discovery_->append_metrics(state->total);
    if (taps_ != nullptr) taps_->append_metrics(state->total);
    metrics::append_process_metrics(state->total);
    metrics::append_build_info(state->total, "lmesh-proxy");
    state->reply(metrics::render_prometheus(state->total));
  };
  for (auto& pw : proxy_workers_) {
    ProxyWorker* p = pw.get();
    bool posted = p->worker().post([this, p, state, finish] {
      auto snapshot = std::make_shared<metrics::Snapshot>(p->metrics().snapshot());
      control_.post([state, snapshot, finish] {
        state->total.merge(*snapshot);
        if (--state->remaining == 0) finish();
      });
    });
    if (!posted && --state->remaining == 0) finish();
  }
}

}  // namespace lmesh::proxy
