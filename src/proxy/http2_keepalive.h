// HTTP/2 keepalive for one connection (RFC 9113 §6.7): a PING every `interval` of the
// connection's life, and the connection counts as dead when one goes unanswered for
// `timeout`. A peer that vanished without a FIN (a crashed host, a dropped NAT mapping) is
// noticed in bounded time instead of holding streams open until TCP gives up.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "common/event/deadline.h"
#include "common/http/h2/session.h"

namespace lmesh::proxy {

class Http2Keepalive {
 public:
  // `flush` runs when a PING was queued (the owner produces and writes it); `on_dead` when
  // one is not answered in time. Interval 0 disables keepalive.
  Http2Keepalive(uv_loop_t* loop, std::chrono::milliseconds interval,
                 std::chrono::milliseconds timeout, std::function<void()> flush,
                 std::function<void()> on_dead);

  // Starts the interval; `session` must outlive stop() or the keepalive.
  void start(http::h2::Session& session);
  void stop();
  // From Session::Handler::on_ping_ack. Returns true when the ack was ours.
  bool on_ping_ack(uint64_t opaque);

 private:
  void on_deadline();

  std::chrono::milliseconds interval_;
  std::chrono::milliseconds timeout_;
  std::function<void()> flush_;
  std::function<void()> on_dead_;
  event::Deadline deadline_;
  http::h2::Session* session_ = nullptr;
  uint64_t outstanding_ = 0;  // opaque of the PING in flight; 0 = none
  uint64_t next_opaque_ = 1;
};

}  // namespace lmesh::proxy
