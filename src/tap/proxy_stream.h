// One proxy's GET /tap stream within a tap: its lines, each tagged with the proxy, go to the
// tap; when the stream cannot open, is refused or ends, the tap hears it once (and nothing
// more from this proxy). Unlike the client's watches it never reconnects: a proxy that went
// away mid-tap is reported, not silently resumed (its events in between would be missing).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/api/client.h"
#include "common/event/timer.h"
#include "common/event/worker.h"
#include "common/result.h"
#include "tap/pod.h"
#include "tap/tap_identity.h"

namespace lmesh::tap {

class ProxyStream {
 public:
  struct Events {
    std::function<void(std::string_view line)> line;
    std::function<void(const Error& why)> ended;  // once
  };

  // Connects over mTLS when `identity` says so for this pod (TapIdentity::secure_tap).
  ProxyStream(event::Worker& worker, const Pod& pod, const std::string& target,
              const TapIdentity& identity, Events events);
  // Frees the connection on a later loop turn: a stream may be dropped from its own callback.
  ~ProxyStream();
  ProxyStream(const ProxyStream&) = delete;
  ProxyStream& operator=(const ProxyStream&) = delete;

  bool ended() const { return ended_; }

 private:
  void end(const Error& why);

  event::Worker& worker_;
  Events events_;
  std::unique_ptr<api::Client> client_;
  std::unique_ptr<api::Watch> watch_;
  // Reports a stream that could not even be set up on a later loop turn: `ended` must not run
  // from inside the constructor, while the tap is still opening its other streams.
  std::unique_ptr<event::Timer> refused_;
  bool ended_ = false;
};

}  // namespace lmesh::tap
