// Everything lmesh-identity can be told, parsed in one place (STYLE.md §10): command-line
// flags and LMESH_IDENTITY_* environment variables become one immutable IdentityConfig. A bad
// value stops the service at start-up with a message naming the flag (or variable).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/config/flags.h"
#include "common/log/log.h"
#include "common/net/socket_address.h"
#include "common/result.h"
#include "identity/certificate_authority.h"

namespace lmesh::identity {

// Where the Kubernetes API server is, for TokenReviews.
struct KubernetesApi {
  net::HostPort address;
  // https:// and a bare host:port (as in a pod): TLS, the server verified against
  // --kubernetes-ca-file for the host's name or address. http:// (e.g. kubectl proxy): plain.
  bool tls = true;
  // What set it ("--kubernetes-api", "KUBERNETES_SERVICE_HOST"), for error messages.
  std::string source;
};

struct IdentityConfig {
  // The API: /v1/certify, /metrics, /ready, /live (HTTP/2 and HTTP/1.1).
  net::SocketAddress listen;
  // The trust anchors, the issuer certificate and its key (PEM files), set one by one or all
  // at once with --issuer-dir DIR (DIR/ca.crt, DIR/issuer.crt, DIR/issuer.key).
  IssuerFiles issuer;
  // The identity this service proves to proxies over TLS (a certificate it issues itself at
  // start, its key in memory only).
  std::string server_identity = "identity.lmesh-system.serviceaccount.identity.lmesh.cluster.local";
  // How long an issued leaf is valid.
  std::chrono::seconds issuance_lifetime{std::chrono::hours(24)};
  // How far a leaf's notBefore is back-dated, for peers whose clocks lag ours.
  std::chrono::seconds clock_skew_allowance{20};
  // Bootstrap tokens outside Kubernetes; when set, TokenReview is not used.
  std::optional<std::string> token_file;
  // The API server for TokenReviews, when there is no token file. Defaults from
  // KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT (set in every pod).
  std::optional<KubernetesApi> kubernetes_api;
  // Our own ServiceAccount token, the credential for TokenReviews.
  std::string kubernetes_token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  // The CA bundle the API server's certificate must chain to.
  std::string kubernetes_ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

  std::string log_level = "info";
  log::Format log_format = log::Format::kText;
};

struct ParsedArgs {
  IdentityConfig config;
  bool help = false;
};

// `env` lookups go through `getenv_fn` so tests can supply an environment.
using GetEnvFn = config::GetEnvFn;
Result<ParsedArgs> parse_args(const std::vector<std::string>& args, GetEnvFn getenv_fn);
std::string usage();

// "http://host:port", "https://host:port" or "host:port" (HTTPS).
Result<KubernetesApi> parse_kubernetes_api(std::string_view text);

}  // namespace lmesh::identity
