// The codecs' one call when a request head has arrived: with no tap open it is a single
// branch and returns null; otherwise it describes the request to the open taps.
#pragma once

#include <memory>
#include <string_view>

#include "common/http/message.h"
#include "common/net/socket_address.h"
#include "proxy/direction.h"
#include "proxy/routing.h"
#include "proxy/tap/worker_taps.h"

namespace lmesh::proxy {

std::unique_ptr<TapRequest> begin_request_tap(WorkerTaps& taps, Direction direction,
                                              const net::SocketAddress& peer,
                                              const ConnectionTarget& target,
                                              const http::RequestHead& request,
                                              std::string_view authority);

inline std::unique_ptr<TapRequest> tap_request(WorkerTaps& taps, Direction direction,
                                               const net::SocketAddress& peer,
                                               const ConnectionTarget& target,
                                               const http::RequestHead& request,
                                               std::string_view authority) {
  if (!taps.active()) [[likely]]
    return nullptr;
  return begin_request_tap(taps, direction, peer, target, request, authority);
}

}  // namespace lmesh::proxy
