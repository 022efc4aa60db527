// Readiness as `lmesh up` judges it: a controller or proxy answers `GET /ready` with 200; an
// app accepts TCP on each of its ports, asked from inside its own network namespace on
// 127.0.0.1 (the iptables rules leave loopback alone) or, in loopback mode, on its address.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/api/client.h"
#include "common/event/worker.h"

namespace lmesh::up {

// Whether something listens on `ip:port` (inside `netns` when not empty). Blocks for at most
// `timeout_ms`: a loopback connect is answered at once, so this stays on the up loop.
bool tcp_port_open(const std::string& netns, const std::string& ip, uint16_t port,
                   int timeout_ms = 200);

// GET /ready against one address, one check at a time.
class ReadyCheck {
 public:
  ReadyCheck(event::Worker& worker, const std::string& addr);
  // Starts a check unless one is running; `done(ready, why)` runs on the loop.
  void check(std::function<void(bool ready, std::string why)> done);
  bool checking() const { return call_ != nullptr; }
  // Drops a check in flight (its callback never runs).
  void cancel() { call_.reset(); }

 private:
  std::unique_ptr<api::Client> client_;
  std::unique_ptr<api::Call> call_;
};

}  // namespace lmesh::up
