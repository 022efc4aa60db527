#include "common/service/service_loop.h"

#include <spdlog/spdlog.h>

#include <cassert>
#include <csignal>
#include <utility>

namespace lmesh::service {

void ServiceLoop::stop_on_signals(api::Server& server, std::function<void()> close_own_parts) {
  server_ = &server;
  close_own_parts_ = std::move(close_own_parts);
  for (auto [handle, signum] : {std::pair{&sigterm_, SIGTERM}, std::pair{&sigint_, SIGINT}}) {
    handle->init(uv_signal_init, worker_.loop());
    handle->get()->data = this;
    uv_signal_start(handle->get(), &ServiceLoop::on_signal, signum);
  }
}

void ServiceLoop::run() {
  worker_.run();
  // Worker::run() returns only once every handle has closed, the connections' sockets
  // included, so the server, which its owner destroys after this, outlived all of them.
  assert(server_ == nullptr || server_->connection_count() == 0);
  spdlog::info("stopped");
}

void ServiceLoop::on_signal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<ServiceLoop*>(handle->data);
  if (self == nullptr) return;
  spdlog::info("signal {}: stopping", signum);
  self->stop();
}

void ServiceLoop::stop() {
  if (std::exchange(stopped_, true)) return;
  if (close_own_parts_) close_own_parts_();
  if (server_ != nullptr) server_->close();
  sigterm_.close();
  sigint_.close();
  worker_.stop();
}

}  // namespace lmesh::service
