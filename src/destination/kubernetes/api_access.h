// Where the Kubernetes API server is and how to prove who we are to it, from one of two places:
//   in a pod (--kubernetes true): KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT, the
//     ServiceAccount's token and CA bundle under /var/run/secrets/kubernetes.io/serviceaccount/;
//   a kubeconfig (--kubeconfig FILE): its current context's cluster and user, in the common
//     shape: cluster.server (https://host[:port][/prefix], host a name or an IP),
//     certificate-authority or certificate-authority-data, tls-server-name; user.token or
//     user.tokenFile, or no credential at all (kubectl proxy). Relative paths are relative to
//     the kubeconfig's directory, as kubectl reads them.
// What it cannot do it refuses at start, naming the field: client certificates, exec and
// auth-provider plugins, basic auth, insecure-skip-tls-verify, proxy-url.
//
// http:// servers are accepted for a local `kubectl proxy` and for tests; the bearer token is
// then sent in the clear, which is only sane on loopback.
#pragma once

#include <string>
#include <string_view>

#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::destination::kubernetes {

inline constexpr std::string_view kInClusterTokenFile =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";
inline constexpr std::string_view kInClusterCaFile =
    "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

// "https://host[:port][/path]": port 443 (80 for http://) when not given.
struct ServerUrl {
  bool tls = true;
  net::HostPort address;
  std::string path_prefix;  // "" or "/k8s/clusters/c-m-1" (a proxying front), no trailing '/'
};
Result<ServerUrl> parse_server_url(std::string_view url);

struct ApiServerAccess {
  ServerUrl server;
  // The name the server's certificate must carry: tls-server-name, else the URL's host.
  std::string server_name;
  // The CA bundle, inline (certificate-authority-data, decoded) or as a file; https only.
  std::string ca_pem;
  std::string ca_file;
  // The bearer token, inline (user.token) or as a file re-read at every (re)connect, because
  // projected ServiceAccount tokens rotate (user.tokenFile; in a pod, the mounted token).
  // Neither: no Authorization header.
  std::string token;
  std::string token_file;
  // For messages: "kubeconfig /root/.kube/config (context kind-dev)", "in-cluster".
  std::string source;
};

// `path` names the file in errors and anchors its relative paths.
Result<ApiServerAccess> parse_kubeconfig(std::string_view text, const std::string& path);

// In a pod. `host` and `port` are KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT.
Result<ApiServerAccess> in_cluster_access(std::string_view host, std::string_view port,
                                          std::string token_file, std::string ca_file);

// RFC 4648 base64 (the standard alphabet, padding optional, no whitespace but line breaks).
Result<std::string> decode_base64(std::string_view text);

}  // namespace lmesh::destination::kubernetes
