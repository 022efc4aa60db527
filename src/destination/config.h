// Everything lmesh-destination can be told, parsed in one place (STYLE.md §10): command-line
// flags and LMESH_DESTINATION_* environment variables become one immutable DestinationConfig.
// A bad value stops the service at start-up with a message naming the flag (or variable).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/config/flags.h"
#include "common/log/log.h"
#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::destination {

// Where the Kubernetes backend finds the API server (kubernetes/api_access.h).
struct KubernetesSource {
  // --kubeconfig FILE; empty: in a pod (--kubernetes true).
  std::string kubeconfig;
  // In a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, read at start-up.
  std::string service_host;
  std::string service_port;
  // In a pod: the ServiceAccount's token (re-read at every (re)connect) and CA bundle.
  std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
};

struct DestinationConfig {
  // The API: /v1/resolve, /v1/profile, /metrics, /ready, /live (HTTP/2 and HTTP/1.1).
  net::SocketAddress listen;
  // The backend, exactly one of the two:
  // the services in YAML or JSON (mesh_file.h), re-read when it changes (--mesh-file);
  std::string mesh_file;
  // or the Kubernetes API server (--kubernetes true, --kubeconfig FILE).
  std::optional<KubernetesSource> kubernetes;
  // Kubernetes: the DNS domain of the cluster's Services (<svc>.<ns>.svc.<domain>).
  std::string cluster_domain = "cluster.local";
  // How long the mesh file's directory must be quiet after a change before the file is read.
  std::chrono::milliseconds reload_debounce{50};

  std::string log_level = "info";
  log::Format log_format = log::Format::kText;
};

struct ParsedArgs {
  DestinationConfig config;
  bool help = false;
};

using GetEnvFn = config::GetEnvFn;
Result<ParsedArgs> parse_args(const std::vector<std::string>& args, GetEnvFn getenv_fn);
std::string usage();

}  // namespace lmesh::destination
