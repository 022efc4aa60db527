#include "destination/destination_service.h"

#include <spdlog/spdlog.h>

#include "common/fs/read_file.h"
#include "destination/kubernetes/api_access.h"
#include "destination/kubernetes/kubernetes_backend.h"
#include "destination/mesh_file_backend.h"

namespace lmesh::destination {
namespace {

// The Kubernetes backend, from a kubeconfig or, in a pod, from its ServiceAccount. Errors name
// the flag (and the kubeconfig's field).
Result<std::unique_ptr<Backend>> kubernetes_backend(event::Worker& worker, Store& store,
                                                    DestinationMetrics& metrics,
                                                    const DestinationConfig& config) {
  namespace k8s = kubernetes;
  const KubernetesSource& source = *config.kubernetes;
  std::string flag = source.kubeconfig.empty() ? "--kubernetes" : "--kubeconfig";
  Result<k8s::ApiServerAccess> access = std::unexpected(Error(ErrorCode::kInternal, ""));
  if (source.kubeconfig.empty()) {
    access = k8s::in_cluster_access(source.service_host, source.service_port, source.token_file,
                                    source.ca_file);
  } else {
    auto text = fs::read_file(source.kubeconfig);
    if (!text) return fail(Error::wrap(text.error(), flag));
    access = k8s::parse_kubeconfig(*text, source.kubeconfig);
  }
  if (!access) return fail(Error::wrap(access.error(), flag));
  k8s::KubernetesOptions options{std::move(*access), config.cluster_domain, {}};
  auto backend = k8s::KubernetesBackend::open(worker, store, metrics, std::move(options));
  if (!backend) return fail(Error::wrap(backend.error(), flag));
  return std::unique_ptr<Backend>(std::move(*backend));
}

}  // namespace

DestinationService::DestinationService(DestinationConfig config)
    : config_(std::move(config)), worker_(0), store_(metrics_) {}

DestinationService::~DestinationService() = default;

Result<void> DestinationService::start() {
  if (config_.kubernetes) {
    auto backend = kubernetes_backend(worker_, store_, metrics_, config_);
    if (!backend) return fail(backend.error());
    backend_ = std::move(*backend);
  } else {
    backend_ = std::make_unique<MeshFileBackend>(worker_, store_, metrics_, config_.mesh_file,
                                                 config_.reload_debounce);
  }
  if (auto ok = backend_->start(); !ok) return ok;
  server_ = std::make_unique<DestinationServer>(worker_, store_, metrics_, config_.cluster_domain);
  auto bound = server_->listen(config_.listen);
  if (!bound) return fail(Error::wrap(bound.error(), "--listen " + config_.listen.to_string()));
  spdlog::info("listening listener=api addr={}", bound->to_string());

  // The backend first (no more reloads), then the connections: their streams leave the store.
  loop_.stop_on_signals(server_->api_server(), [this] { backend_.reset(); });
  return {};
}

void DestinationService::run() {
  loop_.run();
}

}  // namespace lmesh::destination
