#include "proxy/config.h"

#include <algorithm>
#include <functional>
#include <string_view>
#include <thread>

#include "common/config/duration.h"
#include "common/config/flags.h"
#include "common/config/setters.h"
#include "common/tls/identity_name.h"

namespace lmesh::proxy {
namespace {

using config::set_address;
using config::set_bool;
using config::set_duration;
using config::set_number;
using config::set_optional_address;
using config::set_string;

// One row per setting: its flag name, what it means, and how it lands in ProxyConfig.
using Setting = config::Flag<ProxyConfig>;
constexpr std::string_view kEnvPrefix = "LMESH_PROXY_";

Result<void> set_ports(std::vector<uint16_t>& out, std::string_view v) {
  std::vector<uint16_t> ports;
  while (!v.empty()) {
    auto comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    if (item.empty()) continue;
    auto n = config::parse_unsigned(item, 1, 65535);
    if (!n) return fail(n.error());
    ports.push_back(static_cast<uint16_t>(*n));
  }
  std::sort(ports.begin(), ports.end());
  out = std::move(ports);
  return {};
}

// "LISTEN=TARGET,...", both IP:port.
Result<void> set_service_listeners(std::vector<ServiceListener>& out, std::string_view v) {
  std::vector<ServiceListener> listeners;
  while (!v.empty()) {
    auto comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument,
                  "'" + std::string(item) + "' is not LISTEN=TARGET (two IP:port addresses)");
    }
    auto listen = net::SocketAddress::parse(item.substr(0, eq));
    if (!listen) return fail(listen.error());
    auto target = net::SocketAddress::parse(item.substr(eq + 1));
    if (!target) return fail(target.error());
    listeners.push_back(ServiceListener{*listen, *target});
  }
  out = std::move(listeners);
  return {};
}

// A bare IP (v4, or v6 with or without brackets), kept with port 0.
Result<void> set_source_ip(std::optional<net::SocketAddress>& out, std::string_view v) {
  std::string text(v);
  if (text.find(':') != std::string::npos && text.front() != '[') text = "[" + text + "]";
  auto a = net::SocketAddress::parse(text + ":0");
  if (!a) return fail(ErrorCode::kInvalidArgument, "'" + std::string(v) + "' is not an IP address");
  if (a->is_unspecified()) return fail(ErrorCode::kInvalidArgument, "must be a specific address");
  out = *a;
  return {};
}

// "HOST:PORT[=IDENTITY],..."
Result<void> set_meshed_endpoints(std::vector<MeshedEndpoint>& out, std::string_view v) {
  std::vector<MeshedEndpoint> endpoints;
  while (!v.empty()) {
    auto comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    auto eq = item.find('=');
    std::optional<net::SocketAddress> a;
    if (auto ok = set_optional_address(a, item.substr(0, eq)); !ok) return ok;
    MeshedEndpoint e{*a, {}};
    if (eq != std::string_view::npos) {
      e.identity = std::string(item.substr(eq + 1));
      if (e.identity.empty()) return fail(ErrorCode::kInvalidArgument, "empty identity after '='");
    }
    endpoints.push_back(std::move(e));
  }
  out = std::move(endpoints);
  return {};
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> kSettings = {
      {"outbound-listen", "ADDR", "outbound listener (default 127.0.0.1:4140)",
       [](ProxyConfig& c, std::string_view v) { return set_address(c.outbound_listen, v); }},
      {"inbound-listen", "ADDR", "inbound listener (default 0.0.0.0:4143)",
       [](ProxyConfig& c, std::string_view v) { return set_address(c.inbound_listen, v); }},
      {"admin-listen", "ADDR", "admin server: /live /ready /metrics /tap (default 0.0.0.0:4191)",
       [](ProxyConfig& c, std::string_view v) { return set_address(c.admin_listen, v); }},
      {"workers", "N", "worker threads, one event loop each (default: number of cores)",
       [](ProxyConfig& c, std::string_view v) { return set_number(c.workers, v, 1, 256); }},
      {"outbound-target", "HOST:PORT", "send all outbound connections here (explicit mode)",
       [](ProxyConfig& c, std::string_view v) {
         return set_optional_address(c.outbound_target, v);
       }},
      {"outbound-service-listen", "LIST",
       "more outbound listeners, LISTEN=TARGET,... (IP:port each): connections to LISTEN are "
       "handled as if redirected from TARGET (reaching opaque services without iptables)",
       [](ProxyConfig& c, std::string_view v) {
         return set_service_listeners(c.outbound_service_listeners, v);
       }},
      {"inbound-forward", "HOST:PORT",
       "send all inbound connections here (default 127.0.0.1:<original port>)",
       [](ProxyConfig& c, std::string_view v) {
         return set_optional_address(c.inbound_forward, v);
       }},
      {"inbound-forward-listen", "LIST",
       "more inbound listeners, LISTEN=APP,... (IP:port each): connections to LISTEN go to the "
       "application at APP (one per application port when no iptables says which port)",
       [](ProxyConfig& c, std::string_view v) {
         return set_service_listeners(c.inbound_forward_listeners, v);
       }},
      {"outbound-bind", "IP",
       "source address of outbound connections (where pods share a network namespace, as in "
       "lmesh up's loopback mode: the pod's own)",
       [](ProxyConfig& c, std::string_view v) { return set_source_ip(c.outbound_bind, v); }},
      {"meshed-endpoints", "LIST",
       "endpoints (HOST:PORT[=IDENTITY],...) behind another lmesh proxy: HTTP/1 to them goes as "
       "HTTP/2, over mTLS when IDENTITY is given",
       [](ProxyConfig& c, std::string_view v) {
         return set_meshed_endpoints(c.meshed_endpoints, v);
       }},
      {"identity-addr", "HOST:PORT", "lmesh-identity's API; enables identity and mTLS",
       [](ProxyConfig& c, std::string_view v) { return set_optional_address(c.identity_addr, v); }},
      {"identity-name", "NAME", "this proxy's identity (<sa>.<ns>.serviceaccount.identity...)",
       [](ProxyConfig& c, std::string_view v) { return set_string(c.identity_name, v); }},
      {"identity-token-file", "FILE", "token proving the identity (a ServiceAccount token)",
       [](ProxyConfig& c, std::string_view v) { return set_string(c.identity_token_file, v); }},
      {"identity-server-name", "NAME",
       "the identity lmesh-identity must prove over TLS (identity.lmesh-system.serviceaccount...)",
       [](ProxyConfig& c, std::string_view v) { return set_string(c.identity_server_name, v); }},
      {"trust-anchors", "FILE", "PEM bundle of the mesh's root certificates",
       [](ProxyConfig& c, std::string_view v) { return set_string(c.trust_anchors_file, v); }},
      {"tap-identity", "NAME",
       "with identity on, the only client (mTLS) that may tap "
       "(tap.lmesh-system.serviceaccount...)",
       [](ProxyConfig& c, std::string_view v) {
         return tls::set_identity_name(c.tap_identity, v);
       }},
      {"inbound-require-identity", "BOOL", "refuse inbound plaintext from unmeshed clients (false)",
       [](ProxyConfig& c, std::string_view v) { return set_bool(c.inbound_require_identity, v); }},
      {"destination-addr", "HOST:PORT",
       "lmesh-destination's API; enables discovery, balancing and service profiles",
       [](ProxyConfig& c, std::string_view v) {
         return set_optional_address(c.destination_addr, v);
       }},
      {"discovery-timeout", "DURATION",
       "first request to an authority waits this long for discovery, else 503 (3s)",
       [](ProxyConfig& c, std::string_view v) { return set_duration(c.discovery_timeout, v); }},
      {"failfast-timeout", "DURATION",
       "a request to a service without endpoints waits this long for some, else 503 (3s)",
       [](ProxyConfig& c, std::string_view v) { return set_duration(c.failfast_timeout, v); }},
      {"detect-timeout", "DURATION", "wait for first bytes before relaying opaquely (10s)",
       [](ProxyConfig& c, std::string_view v) { return set_duration(c.detect_timeout, v); }},
      {"opaque-ports", "LIST", "ports relayed without detection (25,587,3306,4444,5432,...)",
       [](ProxyConfig& c, std::string_view v) { return set_ports(c.opaque_ports, v); }},
      {"max-header-bytes", "N", "request heads above this get 431 (65536)",
       [](ProxyConfig& c, std::string_view v) {
         return set_number(c.max_header_bytes, v, 256, 16 << 20);
       }},
      {"header-timeout", "DURATION", "request head deadline, else 408 (10s)",
       [](ProxyConfig& c, std::string_view v) { return set_duration(c.header_timeout, v); }},
      {"upstream-timeout", "DURATION", "upstream response head deadline, else 504 (15s)",
       [](ProxyConfig& c, std::string_view v) { return set_duration(c.upstream_timeout, v); }},
      {"connect-timeout", "DURATION", "upstream connect deadline, else 504 (3s)",
       [](ProxyConfig& c, std::string_view v) { return set_duration(c.connect_timeout, v); }},
      {"idle-timeout", "DURATION", "close connections idle this long (1h)",
       [](ProxyConfig& c, std::string_view v) { return set_duration(c.idle_timeout, v); }},
      {"pool-idle-timeout", "DURATION", "close pooled upstream connections idle this long (10s)",
       [](ProxyConfig& c, std::string_view v) { return set_duration(c.pool_idle_timeout, v); }},
      {"pool-max-idle", "N", "idle upstream connections kept per endpoint per worker (1024)",
       [](ProxyConfig& c, std::string_view v) {
         return set_number(c.pool_max_idle, v, 0, 100000);
       }},
      {"h2-keepalive-interval", "DURATION", "PING HTTP/2 peers this often, 0 = never (10s)",
       [](ProxyConfig& c, std::string_view v) { return set_duration(c.h2_keepalive_interval, v); }},
      {"h2-keepalive-timeout", "DURATION",
       "an HTTP/2 peer that does not answer a PING in this time is gone (20s)",
       [](ProxyConfig& c, std::string_view v) { return set_duration(c.h2_keepalive_timeout, v); }},
      {"connection-buffer-bytes", "N", "per-connection write queue cap (262144)",
       [](ProxyConfig& c, std::string_view v) {
         return set_number(c.connection_buffer_bytes, v, 16 << 10, 64 << 20);
       }},
      {"shutdown-grace", "DURATION", "time in-flight work gets after SIGTERM (30s)",
       [](ProxyConfig& c, std::string_view v) { return set_duration(c.shutdown_grace, v); }},
      {"log-level", "LEVEL", "trace, debug, info, warn, error, off (info)",
       [](ProxyConfig& c, std::string_view v) { return config::set_log_level(c.log_level, v); }},
      {"log-format", "FORMAT", "text or json (text)",
       [](ProxyConfig& c, std::string_view v) { return config::set_log_format(c.log_format, v); }},
  };
  return kSettings;
}

ProxyConfig defaults() {
  ProxyConfig c;
  c.outbound_listen = *net::SocketAddress::parse("127.0.0.1:4140");
  c.inbound_listen = *net::SocketAddress::parse("0.0.0.0:4143");
  c.admin_listen = *net::SocketAddress::parse("0.0.0.0:4191");
  c.workers = std::max(1u, std::thread::hardware_concurrency());
  return c;
}

}  // namespace

bool ProxyConfig::is_opaque_port(uint16_t port) const {
  return std::binary_search(opaque_ports.begin(), opaque_ports.end(), port);
}

bool ProxyConfig::is_meshed(const net::SocketAddress& endpoint) const {
  return std::any_of(meshed_endpoints.begin(), meshed_endpoints.end(),
                     [&](const MeshedEndpoint& e) { return e.address == endpoint; });
}

const std::string* ProxyConfig::expected_identity(const net::SocketAddress& endpoint) const {
  for (const MeshedEndpoint& e : meshed_endpoints) {
    if (e.address == endpoint && !e.identity.empty()) return &e.identity;
  }
  return nullptr;
}

Result<ParsedArgs> parse_args(const std::vector<std::string>& args, GetEnvFn getenv_fn) {
  ParsedArgs parsed{defaults(), false};
  auto help = config::apply_flags(settings(), kEnvPrefix, args, getenv_fn, parsed.config);
  if (!help) return fail(help.error());
  parsed.help = *help;
  return parsed;
}

Result<void> validate(const ProxyConfig& c) {
  // Identity comes as a set: the address alone could never get a certificate.
  if (c.identity_enabled()) {
    for (auto [flag, value] : {std::pair{"--identity-name", &c.identity_name},
                               std::pair{"--identity-token-file", &c.identity_token_file},
                               std::pair{"--trust-anchors", &c.trust_anchors_file}}) {
      if (value->empty()) {
        return fail(ErrorCode::kInvalidArgument,
                    std::string("--identity-addr needs ") + flag + " too");
      }
    }
  } else if (c.inbound_require_identity) {
    return fail(ErrorCode::kInvalidArgument,
                "--inbound-require-identity needs an identity (--identity-addr)");
  }
  return {};
}

std::string usage() {
  std::string out =
      "usage: lmesh-proxy [flags]\n\n"
      "The lmesh sidecar proxy. Every flag can also be set as an environment variable\n"
      "LMESH_PROXY_<FLAG> (e.g. LMESH_PROXY_OUTBOUND_LISTEN); flags win over the environment.\n"
      "Durations take a unit: 500ms, 10s, 5m, 1h (0 disables).\n\nflags:\n";
  return out + config::usage_lines(settings());
}

}  // namespace lmesh::proxy
