// Everything the proxy can be told, parsed in one place (STYLE.md §10): command-line flags
// and LMESH_PROXY_* environment variables (how a sidecar is configured) become one immutable
// ProxyConfig. A bad value stops the proxy at start-up with a message naming the setting.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config/flags.h"
#include "common/log/log.h"
#include "common/net/socket_address.h"
#include "common/result.h"
#include "proxy/direction.h"

namespace lmesh::proxy {

using std::chrono::milliseconds;

// An endpoint served by another lmesh proxy, and who that proxy must prove to be.
struct MeshedEndpoint {
  net::SocketAddress address;
  std::string identity;  // empty: none known, the hop stays h2c
};

// A listener that stands for one destination, where nothing intercepts connections (`lmesh up`
// loopback mode). Outbound: every connection it accepts is treated as if iptables had
// redirected it from `target`, so it is discovered, balanced and secured like one (how an app
// reaches an opaque TCP service). Inbound: every connection goes to the application at
// `target` (how a workload with several ports is reached on each).
struct ServiceListener {
  net::SocketAddress listen;
  net::SocketAddress target;
};

struct ProxyConfig {
  // Where applications' outgoing connections arrive (iptables REDIRECT target).
  net::SocketAddress outbound_listen;
  // Where connections to the application arrive, from other proxies or unmeshed clients.
  net::SocketAddress inbound_listen;
  // /live, /ready, /metrics, /tap; over plaintext, and over mTLS once identity has a certificate.
  net::SocketAddress admin_listen;
  // Worker threads, each with its own event loop and its own copy of every listener.
  unsigned workers = 1;

  // Explicit outbound mode: every outbound connection goes here (no iptables needed).
  std::optional<net::SocketAddress> outbound_target;
  // More outbound listeners, each for one destination (see ServiceListener).
  std::vector<ServiceListener> outbound_service_listeners;
  // Every inbound connection goes here; unset means 127.0.0.1:<original destination port>.
  std::optional<net::SocketAddress> inbound_forward;
  // More inbound listeners, each for one application port (listen -> target): without
  // iptables, the listener is what says which of the application's ports a client wants.
  std::vector<ServiceListener> inbound_forward_listeners;
  // The source IP of connections to outbound destinations (port 0); unset: the kernel picks.
  // Where pods share one network namespace (lmesh up loopback mode) this is the pod's address,
  // so that the server's proxy, its tap and its logs see which pod called.
  std::optional<net::SocketAddress> outbound_bind;

  // Endpoints served by another lmesh proxy (until the destination service says so per
  // endpoint): HTTP/1 requests to them travel as HTTP/2 with lmesh-orig-proto, multiplexed,
  // and over mutual TLS when the endpoint's identity is given and this proxy has one.
  std::vector<MeshedEndpoint> meshed_endpoints;

  // Identity (DESIGN.md "Identity"); all unset: no identity, no mTLS. Set together.
  std::optional<net::SocketAddress> identity_addr;  // lmesh-identity's API
  std::string identity_name;                        // this proxy's identity, a DNS SAN
  std::string identity_token_file;  // the token proving it, read before every request
  std::string trust_anchors_file;   // PEM bundle of roots (two during a rotation)
  // The identity lmesh-identity must prove (over TLS, against the trust anchors) before this
  // proxy sends it its token.
  std::string identity_server_name =
      "identity.lmesh-system.serviceaccount.identity.lmesh.cluster.local";
  // Inbound plaintext (from unmeshed clients) is refused and counted.
  bool inbound_require_identity = false;
  // With identity on, only a client proving this identity over mTLS may open GET /tap on the
  // admin port (loopback plaintext too is refused); without identity, loopback clients may.
  std::string tap_identity = "tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local";

  // lmesh-destination's API (DESIGN.md "Wire API"); unset: no discovery, requests go to their
  // original destination or the name's DNS address.
  std::optional<net::SocketAddress> destination_addr;
  // The first request to an authority waits this long for the destination service's first
  // answer, then fails with 503 (known authorities never wait: the last answer serves).
  milliseconds discovery_timeout{3'000};
  // A request to a service discovery knows without endpoints waits this long for some, then
  // the service fails fast (503) until it has endpoints again (Linkerd's failfast timeout).
  milliseconds failfast_timeout{3'000};

  // How long protocol detection waits for the client's first bytes before relaying opaquely
  // (server-speaks-first protocols such as SMTP or MySQL send nothing first).
  milliseconds detect_timeout{10'000};
  // Destination ports relayed as bytes without detection (Linkerd's defaults).
  std::vector<uint16_t> opaque_ports{25, 587, 3306, 4444, 5432, 6379, 9300, 11211};

  // Request heads larger than this are answered 431.
  uint32_t max_header_bytes = 64 * 1024;
  // A request head must be complete this long after its first byte (slowloris), else 408.
  milliseconds header_timeout{10'000};
  // The upstream must start its response this long after the request went out, else 504.
  milliseconds upstream_timeout{15'000};
  // Connecting upstream may take this long, else 504.
  milliseconds connect_timeout{3'000};
  // Connections with no traffic for this long are closed (0: never).
  milliseconds idle_timeout{3'600'000};
  // Pooled upstream HTTP/1 connections idle this long are closed.
  milliseconds pool_idle_timeout{10'000};
  // Idle upstream connections kept per endpoint per worker.
  uint32_t pool_max_idle = 1024;
  // HTTP/2 connections (both sides) send a PING this often and give the peer up as dead when
  // one goes unanswered for the timeout (0 interval: no keepalive).
  milliseconds h2_keepalive_interval{10'000};
  milliseconds h2_keepalive_timeout{20'000};
  // Bytes a connection may queue for writing before its peer stops being read: the bound on
  // memory per connection.
  uint32_t connection_buffer_bytes = 256 * 1024;
  // After SIGTERM/SIGINT, how long in-flight requests may take before connections are closed.
  milliseconds shutdown_grace{30'000};

  std::string log_level = "info";
  log::Format log_format = log::Format::kText;

  bool is_opaque_port(uint16_t port) const;
  bool is_meshed(const net::SocketAddress& endpoint) const;
  // The identity a meshed endpoint must present; null when none is known.
  const std::string* expected_identity(const net::SocketAddress& endpoint) const;
  bool identity_enabled() const { return identity_addr.has_value(); }
  // Where upstream connections in `direction` come from (see outbound_bind).
  const std::optional<net::SocketAddress>& upstream_source(Direction direction) const {
    static constexpr std::optional<net::SocketAddress> kAny;
    return direction == Direction::kOutbound ? outbound_bind : kAny;
  }
};

// Settings that only make sense together, checked after parsing (start-up fails otherwise).
Result<void> validate(const ProxyConfig& config);

// Parsed flags, or the request to print help, or an error naming the bad setting.
struct ParsedArgs {
  ProxyConfig config;
  bool help = false;
};

// `env` lookups go through `getenv_fn` so tests can supply an environment.
using GetEnvFn = config::GetEnvFn;
Result<ParsedArgs> parse_args(const std::vector<std::string>& args, GetEnvFn getenv_fn);
std::string usage();

}  // namespace lmesh::proxy
