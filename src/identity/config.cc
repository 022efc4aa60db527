#include "identity/config.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <string_view>

#include "common/config/duration.h"
#include "common/config/flags.h"
#include "common/config/setters.h"
#include "common/tls/identity_name.h"
#include "identity/ca_init.h"

namespace lmesh::identity {
namespace {

using std::chrono::seconds;

// The settings being parsed: the config plus what only matters until it is finished.
struct Draft {
  IdentityConfig config;
  std::string issuer_dir;
};

// One row per setting: its flag name, what it means, and how it lands in the draft.
using Setting = config::Flag<Draft>;
constexpr std::string_view kEnvPrefix = "LMESH_IDENTITY_";

// Whole seconds, at least `min`.
Result<void> set_seconds(seconds& out, std::string_view v, seconds min) {
  auto d = config::parse_duration(v);
  if (!d) return fail(d.error());
  auto s = std::chrono::duration_cast<seconds>(*d);
  if (s < min) {
    return fail(ErrorCode::kInvalidArgument,
                "must be at least " + std::to_string(min.count()) + "s");
  }
  out = s;
  return {};
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> kSettings = {
      {"listen", "ADDR", "API listener: /v1/certify /metrics /ready /live (0.0.0.0:8080)",
       [](Draft& d, std::string_view v) { return config::set_address(d.config.listen, v); }},
      {"issuer-dir", "DIR", "ca.crt, issuer.crt and issuer.key from `lmesh identity init`",
       [](Draft& d, std::string_view v) { return config::set_string(d.issuer_dir, v); }},
      {"trust-anchors", "FILE", "PEM trust anchors (roots) the issuer must chain to",
       [](Draft& d, std::string_view v) {
         return config::set_string(d.config.issuer.trust_anchors, v);
       }},
      {"issuer-cert", "FILE", "PEM issuer (intermediate CA) certificate",
       [](Draft& d, std::string_view v) {
         return config::set_string(d.config.issuer.issuer_cert, v);
       }},
      {"issuer-key", "FILE", "PEM issuer private key (ECDSA P-256)",
       [](Draft& d, std::string_view v) {
         return config::set_string(d.config.issuer.issuer_key, v);
       }},
      {"server-identity", "NAME",
       "the identity this API proves over TLS (identity.lmesh-system.serviceaccount...)",
       [](Draft& d, std::string_view v) {
         return tls::set_identity_name(d.config.server_identity, v);
       }},
      {"issuance-lifetime", "DURATION", "lifetime of issued leaf certificates (24h)",
       [](Draft& d, std::string_view v) {
         // Down to 5 s: short lifetimes are how renewal is tested (issue: a 10 s lifetime).
         return set_seconds(d.config.issuance_lifetime, v, seconds(5));
       }},
      {"clock-skew-allowance", "DURATION", "back-date leaves' notBefore by this much (20s)",
       [](Draft& d, std::string_view v) {
         return set_seconds(d.config.clock_skew_allowance, v, seconds(0));
       }},
      {"token-file", "FILE", "bootstrap tokens 'TOKEN NS/SA [expires=RFC3339]' (outside k8s)",
       [](Draft& d, std::string_view v) -> Result<void> {
         std::string path;
         if (auto ok = config::set_string(path, v); !ok) return ok;
         d.config.token_file = std::move(path);
         return {};
       }},
      {"kubernetes-api", "URL", "API server for TokenReviews, http://HOST:PORT or https://...",
       [](Draft& d, std::string_view v) -> Result<void> {
         auto api = parse_kubernetes_api(v);
         if (!api) return fail(api.error());
         api->source = "--kubernetes-api";
         d.config.kubernetes_api = std::move(*api);
         return {};
       }},
      {"kubernetes-token-file", "FILE", "our ServiceAccount token for the API server",
       [](Draft& d, std::string_view v) {
         return config::set_string(d.config.kubernetes_token_file, v);
       }},
      {"kubernetes-ca-file", "FILE", "CA bundle the API server's certificate chains to",
       [](Draft& d, std::string_view v) {
         return config::set_string(d.config.kubernetes_ca_file, v);
       }},
      {"log-level", "LEVEL", "trace, debug, info, warn, error, off (info)",
       [](Draft& d, std::string_view v) { return config::set_log_level(d.config.log_level, v); }},
      {"log-format", "FORMAT", "text or json (text)",
       [](Draft& d, std::string_view v) { return config::set_log_format(d.config.log_format, v); }},
  };
  return kSettings;
}

// Inside a pod, the API server's address comes from the environment the kubelet sets.
Result<void> default_kubernetes_api(Draft& d, GetEnvFn getenv_fn) {
  if (d.config.kubernetes_api) return {};
  const char* host = getenv_fn("KUBERNETES_SERVICE_HOST");
  if (host == nullptr || *host == '\0') return {};
  const char* port = getenv_fn("KUBERNETES_SERVICE_PORT");
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  std::string text = h + ":" + (port != nullptr && *port != '\0' ? port : "443");
  auto api = parse_kubernetes_api(text);
  if (!api) {
    return fail(
        config::bad_setting("KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT", text, api.error()));
  }
  api->source = "KUBERNETES_SERVICE_HOST";
  d.config.kubernetes_api = std::move(*api);
  return {};
}

// Fills the issuer files from --issuer-dir and checks that the CA and a token source are known.
Result<void> finish(Draft& d, GetEnvFn getenv_fn) {
  IssuerFiles& f = d.config.issuer;
  if (!d.issuer_dir.empty()) {
    if (f.trust_anchors.empty()) f.trust_anchors = d.issuer_dir + "/" + kTrustAnchorFile;
    if (f.issuer_cert.empty()) f.issuer_cert = d.issuer_dir + "/" + kIssuerCertFile;
    if (f.issuer_key.empty()) f.issuer_key = d.issuer_dir + "/" + kIssuerKeyFile;
  }
  for (auto [value, flag] :
       {std::pair{&f.trust_anchors, "--trust-anchors"}, std::pair{&f.issuer_cert, "--issuer-cert"},
        std::pair{&f.issuer_key, "--issuer-key"}}) {
    if (value->empty()) {
      return fail(ErrorCode::kInvalidArgument, std::string(flag) +
                                                   " is required (or --issuer-dir DIR, made by "
                                                   "`lmesh identity init --out DIR`)");
    }
  }
  if (d.config.token_file) return {};  // the token file wins over Kubernetes
  if (auto ok = default_kubernetes_api(d, getenv_fn); !ok) return ok;
  if (!d.config.kubernetes_api) {
    return fail(ErrorCode::kInvalidArgument,
                "no way to check tokens: give --token-file FILE, or --kubernetes-api URL (set "
                "by default in a pod from KUBERNETES_SERVICE_HOST)");
  }
  return {};
}

}  // namespace

Result<KubernetesApi> parse_kubernetes_api(std::string_view text) {
  KubernetesApi api;
  if (text.starts_with("http://")) {
    api.tls = false;
    text.remove_prefix(7);
  } else if (text.starts_with("https://")) {
    text.remove_prefix(8);
  }
  while (text.ends_with('/')) text.remove_suffix(1);
  if (text.find('/') != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "expected [http[s]://]HOST:PORT without a path");
  }
  auto hp = net::HostPort::parse(text);
  if (!hp) return fail(hp.error());
  if (hp->port == 0) return fail(ErrorCode::kInvalidArgument, "the port must not be 0");
  api.address = std::move(*hp);
  return api;
}

Result<ParsedArgs> parse_args(const std::vector<std::string>& args, GetEnvFn getenv_fn) {
  Draft draft;
  draft.config.listen = *net::SocketAddress::parse("0.0.0.0:8080");
  auto help = config::apply_flags(settings(), kEnvPrefix, args, getenv_fn, draft);
  if (!help) return fail(help.error());
  if (*help) return ParsedArgs{std::move(draft.config), true};
  if (auto ok = finish(draft, getenv_fn); !ok) return fail(ok.error());
  return ParsedArgs{std::move(draft.config), false};
}

std::string usage() {
  std::string out =
      "usage: lmesh-identity [flags]\n\n"
      "The lmesh certificate authority: signs proxies' CSRs (POST /v1/certify) for the\n"
      "identity their token proves. Every flag can also be set as an environment variable\n"
      "LMESH_IDENTITY_<FLAG> (e.g. LMESH_IDENTITY_TOKEN_FILE); flags win over the environment.\n"
      "Durations take a unit: 500ms, 10s, 5m, 1h.\n\nflags:\n";
  return out + config::usage_lines(settings());
}

}  // namespace lmesh::identity
