#include "destination/destination_service.h"

#include <spdlog/spdlog.h>

#include "destination/mesh_file_backend.h"

namespace lmesh::destination {

DestinationService::DestinationService(DestinationConfig config)
    : config_(std::move(config)), worker_(0), store_(metrics_) {}

DestinationService::~DestinationService() = default;

Result<void> DestinationService::start() {
  backend_ = std::make_unique<MeshFileBackend>(worker_, store_, metrics_, config_.mesh_file,
                                               config_.reload_debounce);
  if (auto ok = backend_->start(); !ok) return ok;
  server_ = std::make_unique<DestinationServer>(worker_, store_, metrics_);
  auto bound = server_->listen(config_.listen);
  if (!bound) return fail(Error::wrap(bound.error(), "--listen " + config_.listen.to_string()));
  spdlog::info("listening listener=api addr={}", bound->to_string());

  for (auto [handle, signum] : {std::pair{&sigterm_, SIGTERM}, std::pair{&sigint_, SIGINT}}) {
    handle->init(uv_signal_init, worker_.loop());
    handle->get()->data = this;
    uv_signal_start(handle->get(), &DestinationService::on_signal, signum);
  }
  return {};
}

void DestinationService::run() {
  worker_.run();
  spdlog::info("stopped");
}

void DestinationService::on_signal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<DestinationService*>(handle->data);
  if (self == nullptr) return;
  spdlog::info("signal {}: stopping", signum);
  self->stop();
}

void DestinationService::stop() {
  // The backend first (no more reloads), then the connections: their streams leave the store.
  backend_.reset();
  if (server_) server_->close();
  sigterm_.close();
  sigint_.close();
  worker_.stop();
}

}  // namespace lmesh::destination
