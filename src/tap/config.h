// Everything lmesh-tap can be told, parsed in one place (STYLE.md §10): command-line flags and
// LMESH_TAP_* environment variables become one immutable TapConfig. A bad value stops the
// service at start-up with a message naming the flag (or variable) and exit status 2.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/config/flags.h"
#include "common/log/log.h"
#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::tap {

struct TapConfig {
  // The API: /v1/tap, /v1/stat, /metrics, /ready, /live (HTTP/2 and HTTP/1.1).
  net::SocketAddress listen;
  // lmesh-destination, asked for the pods of a target (/v1/pods).
  net::SocketAddress destination_addr;
  // How often every proxy's /metrics is read for /v1/stat.
  std::chrono::milliseconds scrape_interval{10'000};
  // How long scraped samples are kept (the longest /v1/stat window).
  std::chrono::milliseconds stat_retention{3'600'000};

  // Identity (DESIGN.md "Identity"): with identity_addr set, lmesh-tap gets a certificate for
  // identity_name and taps (and scrapes) every proxy with an identity over mTLS, which is the
  // only way such a proxy serves GET /tap. Unset: plaintext, as towards proxies without one.
  std::optional<net::SocketAddress> identity_addr;  // lmesh-identity's API
  // Who lmesh-tap is: the proxies' --tap-identity.
  std::string identity_name = "tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local";
  std::string identity_token_file;  // the token proving it, read before every request
  std::string trust_anchors_file;   // PEM bundle of the mesh's roots (two during a rotation)
  // The identity lmesh-identity must prove over TLS before the token is sent to it.
  std::string identity_server_name =
      "identity.lmesh-system.serviceaccount.identity.lmesh.cluster.local";

  bool identity_enabled() const { return identity_addr.has_value(); }

  std::string log_level = "info";
  log::Format log_format = log::Format::kText;
};

struct ParsedArgs {
  TapConfig config;
  bool help = false;
};

Result<ParsedArgs> parse_args(const std::vector<std::string>& args, config::GetEnvFn getenv_fn);
std::string usage();

}  // namespace lmesh::tap
