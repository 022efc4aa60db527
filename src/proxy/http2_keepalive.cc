#include "proxy/http2_keepalive.h"

namespace lmesh::proxy {

namespace {
// Our PINGs carry this in their high bytes, so a peer's own PING acks are never mistaken
// for ours ("lmKA").
constexpr uint64_t kTag = 0x6c6d4b4100000000;
}  // namespace

Http2Keepalive::Http2Keepalive(uv_loop_t* loop, std::chrono::milliseconds interval,
                               std::chrono::milliseconds timeout, std::function<void()> flush,
                               std::function<void()> on_dead)
    : interval_(interval),
      timeout_(timeout),
      flush_(std::move(flush)),
      on_dead_(std::move(on_dead)),
      deadline_(loop, [this] { on_deadline(); }) {}

void Http2Keepalive::start(http::h2::Session& session) {
  session_ = &session;
  outstanding_ = 0;
  deadline_.set(interval_);
}

void Http2Keepalive::stop() {
  session_ = nullptr;
  deadline_.clear();
}

bool Http2Keepalive::on_ping_ack(uint64_t opaque) {
  if (outstanding_ == 0 || opaque != outstanding_) return false;
  outstanding_ = 0;
  deadline_.set(interval_);
  return true;
}

void Http2Keepalive::on_deadline() {
  if (session_ == nullptr) return;
  if (outstanding_ != 0) {
    session_ = nullptr;
    on_dead_();
    return;
  }
  uint64_t opaque = kTag | (next_opaque_++ & 0xffffffff);
  if (!session_->send_ping(opaque)) return;  // the session is going away anyway
  outstanding_ = opaque;
  deadline_.set(timeout_);
  flush_();
}

}  // namespace lmesh::proxy
