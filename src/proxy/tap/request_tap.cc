#include "proxy/tap/request_tap.h"

#include "proxy/request_router.h"

namespace lmesh::proxy {

std::unique_ptr<TapRequest> begin_request_tap(WorkerTaps& taps, Direction direction,
                                              const net::SocketAddress& peer,
                                              const ConnectionTarget& target,
                                              const http::RequestHead& request,
                                              std::string_view authority) {
  std::optional<net::SocketAddress> destination =
      target.destination ? target.destination : target.original_destination;
  std::string_view scheme = request.scheme.empty() ? std::string_view("http") : request.scheme;
  TapRequestStart start{direction,
                        peer,
                        destination,
                        target.tls,
                        target.client_identity,
                        request.method,
                        scheme,
                        authority,
                        request_path(request),
                        request.headers};
  return taps.begin(start);
}

}  // namespace lmesh::proxy
