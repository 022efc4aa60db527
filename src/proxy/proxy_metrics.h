// The proxy's metric families in one worker's shard, with linkerd2-proxy's names and labels
// (DESIGN.md "Metrics") so that dashboards and habits carry over.
//
// Lookups by label values cost a hash of the key, so callers keep what they looked up: the TCP
// bundles are resolved once per worker, a RouteMetrics once per authority per connection.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/metrics/registry.h"
#include "proxy/direction.h"

namespace lmesh::proxy {

// Which end of the proxy a TCP connection is on: "src" (downstream) or "dst" (upstream).
enum class Peer { kSrc, kDst };
// The tls label: plaintext, TLS the proxy relays without terminating it, or mesh TLS the
// proxy terminates or originates itself.
enum class TlsLabel { kFalse, kPassthru, kTrue };

std::string_view to_string(TlsLabel t);

// Reasons the proxy answers or ends a request itself (README.md "Errors").
enum class ProxyError {
  kMalformed,
  kNoDestination,
  kHeaderTimeout,
  kHeaderTooLarge,
  kConnectRefused,
  kConnectFailed,
  kConnectTimeout,
  kUpstreamReset,
  kUpstreamMalformed,
  kUpstreamTimeout,
  kUnsupported,
  kTlsIdentityMismatch,  // the meshed upstream is not who discovery said (never downgraded)
  kTlsFailed,            // any other failed handshake with a meshed upstream
  kNoIdentity,           // a meshed upstream needs mTLS and this proxy has no certificate yet
  kNoEndpoints,          // discovery knows the service but no endpoint can take a request
  kDiscoveryTimeout,     // the destination service did not answer for a new authority in time
  kFaultInjected,        // the service profile's fault injection aborted the request
  kRouteTimeout,         // the profile route's timeout passed before the response head
};
// Tables indexed by ProxyError are this long; the last enumerator above sets it.
inline constexpr size_t kProxyErrorCount = static_cast<size_t>(ProxyError::kRouteTimeout) + 1;

struct ProxyErrorInfo {
  uint16_t status;
  std::string_view header;  // value of lmesh-proxy-error
  std::string_view metric;  // value of the reason label
};
const ProxyErrorInfo& info(ProxyError e);
// The client's fault (a bad or slow request), not the upstream's: logged at info, not warn,
// and the connection it came on cannot be trusted further.
bool client_caused(ProxyError e);

struct TcpMetrics {
  metrics::Counter* open_total;
  metrics::Gauge* open_connections;
  metrics::Counter* close_total;
  metrics::Counter* read_bytes;
  metrics::Counter* write_bytes;
};

struct RouteMetrics {
  metrics::Counter* requests;
  metrics::Histogram* latency_ms;
  std::string authority;
  Direction direction;
  TlsLabel tls;
  std::string client_id;  // inbound over mesh TLS: the client's proven identity
};

// Per profile route of a service (the `route` label is the route's name, "default" for
// requests no route matched; `dst` is the service the request named).
struct ProfileRouteMetrics {
  metrics::Counter* requests;
  metrics::Histogram* latency_ms;
  metrics::Counter* retries;          // retries sent
  metrics::Counter* retries_refused;  // retries the budget did not allow
  std::string dst;
  std::string route;
  Direction direction;
};

// Per backend service of a request's service (the backends of a traffic split; the service
// itself when it has no split): attempts and their outcomes as the route classifies them.
struct BackendMetrics {
  metrics::Counter* requests;
  metrics::Counter* successes;
  metrics::Counter* failures;
};

class ProxyMetrics {
 public:
  ProxyMetrics();

  const TcpMetrics& tcp(Direction d, Peer p, TlsLabel t) const { return tcp_[tcp_index(d, p, t)]; }
  // `client_id`: the identity a mesh TLS client proved (empty: none; the label is then left
  // out of the text, as every empty label value is).
  RouteMetrics route(Direction d, std::string_view authority, TlsLabel tls,
                     std::string_view client_id = {});
  ProfileRouteMetrics profile_route(Direction d, std::string_view dst, std::string_view route);
  BackendMetrics backend(Direction d, std::string_view dst, std::string_view backend);
  // A mirrored copy of a request to `dst`'s `route` ended: "success", "failure" (no answer,
  // or a 5xx from the mirror) or "too_large" (its body was over 64 KiB, not copied).
  void count_mirror(std::string_view dst, std::string_view route, std::string_view result) {
    route_mirror_total_.get({dst, route, result}).inc();
  }
  metrics::Counter& profile_route_response(const ProfileRouteMetrics& route, uint16_t status,
                                           bool failure);
  // `grpc_status`: the grpc-status a gRPC response ended with (its label is absent otherwise).
  metrics::Counter& response(const RouteMetrics& route, uint16_t status,
                             std::optional<uint32_t> grpc_status, bool failure);
  void count_error(Direction d, ProxyError e);
  // A mesh TLS handshake: "success", "resumed", or the failure's reason token.
  void count_handshake(Direction d, std::string_view result);
  // A reason outside ProxyError: an HTTP/2 connection error's token (h2_flood, ...).
  void count_error(Direction d, std::string_view reason);

  metrics::Snapshot snapshot() const { return registry_.snapshot(); }

 private:
  static size_t index(Direction d) { return d == Direction::kInbound ? 0 : 1; }
  static size_t tcp_index(Direction d, Peer p, TlsLabel t) {
    return index(d) * 6 + (p == Peer::kDst ? 3 : 0) + static_cast<size_t>(t);
  }

  metrics::Registry registry_;
  metrics::Family<metrics::Counter>& request_total_;
  metrics::Family<metrics::Counter>& response_total_;
  metrics::Family<metrics::Histogram>& response_latency_ms_;
  metrics::Family<metrics::Counter>& http_errors_total_;
  metrics::Family<metrics::Counter>& tls_handshake_total_;
  metrics::Family<metrics::Counter>& route_request_total_;
  metrics::Family<metrics::Counter>& route_response_total_;
  metrics::Family<metrics::Histogram>& route_response_latency_ms_;
  metrics::Family<metrics::Counter>& route_retry_total_;
  metrics::Family<metrics::Counter>& route_mirror_total_;
  metrics::Family<metrics::Counter>& backend_request_total_;
  metrics::Family<metrics::Counter>& backend_response_total_;
  std::array<TcpMetrics, 12> tcp_;
};

}  // namespace lmesh::proxy
