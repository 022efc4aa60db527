#include "proxy/proxy_metrics.h"

#include <charconv>

namespace lmesh::proxy {

std::string_view to_string(TlsLabel t) {
  switch (t) {
    case TlsLabel::kPassthru: return "passthru";
    case TlsLabel::kTrue: return "true";
    case TlsLabel::kFalse: break;
  }
  return "false";
}

const ProxyErrorInfo& info(ProxyError e) {
  static constexpr ProxyErrorInfo kInfo[] = {
      {400, "malformed request", "malformed"},
      {400, "no destination", "no_destination"},
      {408, "request header timeout", "header_timeout"},
      {431, "request header too large", "header_too_large"},
      {502, "upstream connection refused", "connect_refused"},
      {502, "upstream connection failed", "connect_failed"},
      {504, "upstream connect timeout", "connect_timeout"},
      {502, "upstream closed connection", "upstream_reset"},
      {502, "malformed upstream response", "upstream_malformed"},
      {504, "upstream timeout", "upstream_timeout"},
      {405, "method not supported", "unsupported"},
      {502, "tls identity mismatch", "tls_identity_mismatch"},
      {502, "tls handshake failed", "tls_handshake_failed"},
      {503, "no identity certificate", "no_identity"},
      {503, "no ready endpoints", "no_endpoints"},
      {503, "discovery timeout", "discovery_timeout"},
      {503, "fault injected", "fault_injected"},
      {504, "route timeout", "route_timeout"},
  };
  static_assert(std::size(kInfo) == kProxyErrorCount, "one row per ProxyError");
  return kInfo[static_cast<size_t>(e)];
}

bool client_caused(ProxyError e) {
  return e == ProxyError::kMalformed || e == ProxyError::kHeaderTooLarge ||
         e == ProxyError::kHeaderTimeout || e == ProxyError::kNoDestination ||
         e == ProxyError::kUnsupported;
}

ProxyMetrics::ProxyMetrics()
    : request_total_(registry_.counter("request_total", "Requests received",
                                       {"direction", "authority", "tls", "client_id"})),
      response_total_(registry_.counter("response_total", "Responses sent",
                                        {"direction", "authority", "tls", "client_id",
                                         "status_code", "grpc_status_code", "classification"})),
      response_latency_ms_(registry_.histogram(
          "response_latency_ms", "Time from request head to response head, in milliseconds",
          {"direction", "authority", "tls", "client_id"}, metrics::latency_ms_buckets())),
      http_errors_total_(registry_.counter("http_errors_total",
                                           "Requests the proxy answered or ended itself, by reason",
                                           {"direction", "reason"})),
      tls_handshake_total_(registry_.counter(
          "tls_handshake_total", "Mesh TLS handshakes, by result (success, resumed or a reason)",
          {"direction", "result"})),
      route_request_total_(registry_.counter("route_request_total",
                                             "Requests to a service, by profile route",
                                             {"direction", "dst", "route"})),
      route_response_total_(
          registry_.counter("route_response_total", "Responses from a service, by profile route",
                            {"direction", "dst", "route", "status_code", "classification"})),
      route_response_latency_ms_(registry_.histogram(
          "route_response_latency_ms",
          "Time from request head to response head by profile route, retries included, in ms",
          {"direction", "dst", "route"}, metrics::latency_ms_buckets())),
      route_retry_total_(registry_.counter(
          "route_retry_total", "Retries by profile route: sent, or refused by the retry budget",
          {"direction", "dst", "route", "result"})),
      route_mirror_total_(registry_.counter(
          "route_mirror_total", "Mirrored copies of outbound requests by profile route, by outcome",
          {"dst", "route", "result"})),
      backend_request_total_(registry_.counter(
          "backend_request_total", "Attempts sent to a backend service of a discovered service",
          {"direction", "dst", "backend"})),
      backend_response_total_(
          registry_.counter("backend_response_total", "Attempts at a backend service, by outcome",
                            {"direction", "dst", "backend", "classification"})) {
  auto& open_total =
      registry_.counter("tcp_open_total", "TCP connections opened", {"direction", "peer", "tls"});
  auto& open = registry_.gauge("tcp_open_connections", "TCP connections open now",
                               {"direction", "peer", "tls"});
  auto& close_total =
      registry_.counter("tcp_close_total", "TCP connections closed", {"direction", "peer", "tls"});
  auto& read_bytes = registry_.counter("tcp_read_bytes_total", "Bytes read from TCP connections",
                                       {"direction", "peer", "tls"});
  auto& write_bytes = registry_.counter("tcp_write_bytes_total", "Bytes written to TCP connections",
                                        {"direction", "peer", "tls"});
  for (Direction d : {Direction::kInbound, Direction::kOutbound}) {
    for (Peer p : {Peer::kSrc, Peer::kDst}) {
      for (TlsLabel t : {TlsLabel::kFalse, TlsLabel::kPassthru, TlsLabel::kTrue}) {
        std::string_view peer = p == Peer::kSrc ? "src" : "dst";
        auto labels = {to_string(d), peer, to_string(t)};
        tcp_[tcp_index(d, p, t)] =
            TcpMetrics{&open_total.get(labels), &open.get(labels), &close_total.get(labels),
                       &read_bytes.get(labels), &write_bytes.get(labels)};
      }
    }
  }
}

RouteMetrics ProxyMetrics::route(Direction d, std::string_view authority, TlsLabel tls,
                                 std::string_view client_id) {
  auto labels = {to_string(d), authority, to_string(tls), client_id};
  return RouteMetrics{&request_total_.get(labels),
                      &response_latency_ms_.get(labels),
                      std::string(authority),
                      d,
                      tls,
                      std::string(client_id)};
}

ProfileRouteMetrics ProxyMetrics::profile_route(Direction d, std::string_view dst,
                                                std::string_view route) {
  auto labels = {to_string(d), dst, route};
  return ProfileRouteMetrics{
      &route_request_total_.get(labels),
      &route_response_latency_ms_.get(labels),
      &route_retry_total_.get({to_string(d), dst, route, "sent"}),
      &route_retry_total_.get({to_string(d), dst, route, "budget_exhausted"}),
      std::string(dst),
      std::string(route),
      d};
}

BackendMetrics ProxyMetrics::backend(Direction d, std::string_view dst, std::string_view backend) {
  return BackendMetrics{&backend_request_total_.get({to_string(d), dst, backend}),
                        &backend_response_total_.get({to_string(d), dst, backend, "success"}),
                        &backend_response_total_.get({to_string(d), dst, backend, "failure"})};
}

metrics::Counter& ProxyMetrics::profile_route_response(const ProfileRouteMetrics& route,
                                                       uint16_t status, bool failure) {
  char code[8];
  auto [end, ec] = std::to_chars(code, code + sizeof code, status);
  return route_response_total_.get({to_string(route.direction), route.dst, route.route,
                                    std::string_view(code, static_cast<size_t>(end - code)),
                                    failure ? "failure" : "success"});
}

metrics::Counter& ProxyMetrics::response(const RouteMetrics& route, uint16_t status,
                                         std::optional<uint32_t> grpc_status, bool failure) {
  char code[8];
  auto [end, ec] = std::to_chars(code, code + sizeof code, status);
  char grpc[12];
  auto [grpc_end, grpc_ec] = grpc_status ? std::to_chars(grpc, grpc + sizeof grpc, *grpc_status)
                                         : std::to_chars_result{grpc, std::errc{}};
  return response_total_.get({to_string(route.direction), route.authority, to_string(route.tls),
                              route.client_id,
                              std::string_view(code, static_cast<size_t>(end - code)),
                              std::string_view(grpc, static_cast<size_t>(grpc_end - grpc)),
                              failure ? "failure" : "success"});
}

void ProxyMetrics::count_error(Direction d, ProxyError e) {
  count_error(d, info(e).metric);
}

void ProxyMetrics::count_error(Direction d, std::string_view reason) {
  http_errors_total_.get({to_string(d), reason}).inc();
}

void ProxyMetrics::count_handshake(Direction d, std::string_view result) {
  tls_handshake_total_.get({to_string(d), result}).inc();
}

}  // namespace lmesh::proxy
