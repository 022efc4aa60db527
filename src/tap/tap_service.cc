#include "tap/tap_service.h"

#include <spdlog/spdlog.h>

namespace lmesh::tap {

TapService::TapService(TapConfig config)
    : config_(std::move(config)),
      worker_(0),
      identity_(worker_, config_),
      directory_(worker_, config_.destination_addr),
      stats_(worker_, directory_, identity_, metrics_, config_.scrape_interval,
             config_.stat_retention) {}

TapService::~TapService() = default;

Result<void> TapService::start() {
  server_ = std::make_unique<TapServer>(worker_, directory_, stats_, identity_, metrics_);
  auto bound = server_->listen(config_.listen);
  if (!bound) return fail(Error::wrap(bound.error(), "--listen " + config_.listen.to_string()));
  spdlog::info("listening listener=api addr={}", bound->to_string());
  if (auto ok = identity_.start(); !ok) return ok;
  stats_.start();
  // The scrape rounds stop first: they would otherwise start new scrapes while the rest closes.
  // The identity client's connection and renewal timer would keep the loop alive.
  loop_.stop_on_signals(server_->api_server(), [this] {
    stats_.stop();
    identity_.stop();
  });
  return {};
}

void TapService::run() {
  loop_.run();
}

}  // namespace lmesh::tap
