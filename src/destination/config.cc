#include "destination/config.h"

#include <algorithm>
#include <string_view>

#include "common/config/duration.h"
#include "common/config/setters.h"

namespace lmesh::destination {
namespace {

// The config being built, and what was given explicitly: the backend's flags are checked
// together once every flag is in.
struct Draft {
  DestinationConfig config;
  bool kubernetes = false;
  std::string kubeconfig;
  KubernetesSource in_cluster;
  std::vector<std::string_view> given;  // flags that apply to one backend only

  void mark(std::string_view flag) { given.push_back(flag); }
  bool has(std::string_view flag) const {
    return std::find(given.begin(), given.end(), flag) != given.end();
  }
};

using Setting = config::Flag<Draft>;
constexpr std::string_view kEnvPrefix = "LMESH_DESTINATION_";
constexpr auto kMaxDebounce = std::chrono::milliseconds(10'000);

// A DNS name: lowercase letters, digits, '-' and '.', no empty label.
Result<void> set_domain(std::string& out, std::string_view v) {
  bool ok = !v.empty() && v.size() <= 200 && v.front() != '.' && v.back() != '.' &&
            v.find("..") == std::string_view::npos;
  for (char c : v)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');
  if (!ok) {
    return fail(ErrorCode::kInvalidArgument,
                "expected a DNS domain (lowercase letters, digits, '-' and '.')");
  }
  out = std::string(v);
  return {};
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> kSettings = {
      {"listen", "ADDR", "API listener: /v1/resolve /v1/profile /metrics /ready (0.0.0.0:8086)",
       [](Draft& d, std::string_view v) { return config::set_address(d.config.listen, v); }},
      {"mesh-file", "FILE", "the services, YAML or JSON; re-read when it changes (required)",
       [](Draft& d, std::string_view v) { return config::set_string(d.config.mesh_file, v); }},
      {"kubernetes", "BOOL", "the Kubernetes backend, in a pod: its ServiceAccount (false)",
       [](Draft& d, std::string_view v) { return config::set_bool(d.kubernetes, v); }},
      {"kubeconfig", "FILE", "the Kubernetes backend, with this kubeconfig's current context",
       [](Draft& d, std::string_view v) { return config::set_string(d.kubeconfig, v); }},
      {"kubernetes-token-file", "FILE", "with --kubernetes: the API token, re-read on reconnects",
       [](Draft& d, std::string_view v) {
         d.mark("kubernetes-token-file");
         return config::set_string(d.in_cluster.token_file, v);
       }},
      {"kubernetes-ca-file", "FILE", "with --kubernetes: the API server's CA bundle",
       [](Draft& d, std::string_view v) {
         d.mark("kubernetes-ca-file");
         return config::set_string(d.in_cluster.ca_file, v);
       }},
      {"cluster-domain", "DOMAIN", "Kubernetes: Services are <svc>.<ns>.svc.DOMAIN (cluster.local)",
       [](Draft& d, std::string_view v) -> Result<void> {
         d.mark("cluster-domain");
         return set_domain(d.config.cluster_domain, v);
       }},
      {"reload-debounce", "DURATION", "quiet time after a mesh file change before reading (50ms)",
       [](Draft& d, std::string_view v) -> Result<void> {
         d.mark("reload-debounce");
         auto debounce = config::parse_duration(v);
         if (!debounce) return fail(debounce.error());
         if (*debounce > kMaxDebounce) {
           return fail(ErrorCode::kInvalidArgument, "must be at most 10s");
         }
         d.config.reload_debounce = *debounce;
         return {};
       }},
      {"log-level", "LEVEL", "trace, debug, info, warn, error, off (info)",
       [](Draft& d, std::string_view v) { return config::set_log_level(d.config.log_level, v); }},
      {"log-format", "FORMAT", "text or json (text)",
       [](Draft& d, std::string_view v) { return config::set_log_format(d.config.log_format, v); }},
  };
  return kSettings;
}

// Exactly one backend, and no flag of the other one: a flag that would be silently ignored is
// a mistake better reported at start.
Result<void> choose_backend(Draft& d, GetEnvFn getenv_fn) {
  std::vector<std::string_view> chosen;
  if (!d.config.mesh_file.empty()) chosen.push_back("--mesh-file");
  if (d.kubernetes) chosen.push_back("--kubernetes");
  if (!d.kubeconfig.empty()) chosen.push_back("--kubeconfig");
  if (chosen.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "--mesh-file FILE is required, or --kubernetes true (in a pod) or --kubeconfig "
                "FILE for the Kubernetes backend (see --help)");
  }
  if (chosen.size() > 1) {
    return fail(ErrorCode::kInvalidArgument, std::string(chosen[0]) + " and " +
                                                 std::string(chosen[1]) +
                                                 " choose different backends: give one");
  }
  auto refuse = [&d](std::string_view flag, std::string_view why) -> Result<void> {
    if (!d.has(flag)) return {};
    return fail(ErrorCode::kInvalidArgument, "--" + std::string(flag) + " " + std::string(why));
  };
  if (!d.kubernetes) {
    for (std::string_view flag : {"kubernetes-token-file", "kubernetes-ca-file"}) {
      auto ok = refuse(flag, "applies to --kubernetes true only (a kubeconfig names its own)");
      if (!ok) return ok;
    }
  }
  if (!d.config.mesh_file.empty()) {
    return refuse("cluster-domain", "applies to the Kubernetes backend only, not --mesh-file");
  }
  if (auto ok = refuse("reload-debounce", "applies to --mesh-file only"); !ok) return ok;
  if (d.kubernetes) {
    // In a pod the kubelet sets these; read now so that a missing one stops the start.
    const char* host = getenv_fn("KUBERNETES_SERVICE_HOST");
    const char* port = getenv_fn("KUBERNETES_SERVICE_PORT");
    if (host == nullptr || port == nullptr || *host == '\0' || *port == '\0') {
      return fail(ErrorCode::kInvalidArgument,
                  "--kubernetes true: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not "
                  "set (not in a pod? give --kubeconfig FILE instead)");
    }
    d.in_cluster.service_host = host;
    d.in_cluster.service_port = port;
    d.config.kubernetes = std::move(d.in_cluster);
  } else if (!d.kubeconfig.empty()) {
    d.config.kubernetes = KubernetesSource{};
    d.config.kubernetes->kubeconfig = std::move(d.kubeconfig);
  }
  return {};
}

}  // namespace

Result<ParsedArgs> parse_args(const std::vector<std::string>& args, GetEnvFn getenv_fn) {
  Draft draft;
  // Every interface, as lmesh-identity does: the destination service is reached by the proxies
  // of other hosts (pods), not only from loopback.
  draft.config.listen = *net::SocketAddress::parse("0.0.0.0:8086");
  auto help = config::apply_flags(settings(), kEnvPrefix, args, getenv_fn, draft);
  if (!help) return fail(help.error());
  if (*help) return ParsedArgs{std::move(draft.config), true};
  if (auto ok = choose_backend(draft, getenv_fn); !ok) return fail(ok.error());
  return ParsedArgs{std::move(draft.config), false};
}

std::string usage() {
  std::string out =
      "usage: lmesh-destination --mesh-file FILE [flags]\n"
      "       lmesh-destination --kubernetes true | --kubeconfig FILE [flags]\n\n"
      "The lmesh destination service: tells proxies where a service's endpoints are\n"
      "(GET /v1/resolve?authority=host:port) and how to treat its requests (GET\n"
      "/v1/profile?authority=host:port), as streams that follow every change of the mesh file\n"
      "or of the Kubernetes cluster (Services, EndpointSlices, Pods, ServiceProfiles).\n"
      "Every flag can also be set as an environment variable LMESH_DESTINATION_<FLAG> (e.g.\n"
      "LMESH_DESTINATION_MESH_FILE); flags win over the environment.\n"
      "Durations take a unit: 50ms, 1s.\n\nflags:\n";
  return out + config::usage_lines(settings());
}

}  // namespace lmesh::destination
