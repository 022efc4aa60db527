// Where the Kubernetes API server is and how to authenticate (src/destination/kubernetes/
// api_access.h): kubeconfigs of the common shapes (kind, kubeadm, a ServiceAccount token file),
// server URLs, in-cluster settings, and refusals that name the field to fix.
#include "destination/kubernetes/api_access.h"

#include <catch2/catch.hpp>

namespace lmesh::destination::kubernetes {
namespace {

// "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", base64-encoded.
constexpr const char* kCaData =
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";
constexpr const char* kCaPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

// As `kind get kubeconfig` writes it, with a token user in place of the client certificate.
std::string kubeconfig(const std::string& cluster, const std::string& user,
                       const std::string& context_extra = "") {
  return "apiVersion: v1\n"
         "kind: Config\n"
         "preferences: {}\n"
         "current-context: kind-dev\n"
         "contexts:\n"
         "- context:\n"
         "    cluster: kind-dev\n"
         "    user: lmesh-destination\n" +
         context_extra +
         "  name: kind-dev\n"
         "- context: {cluster: other, user: other}\n"
         "  name: other\n"
         "clusters:\n"
         "- cluster:\n" +
         cluster +
         "  name: kind-dev\n"
         "users:\n"
         "- name: lmesh-destination\n"
         "  user:\n" +
         user;
}

std::string error_of(const Result<ApiServerAccess>& a) {
  REQUIRE_FALSE(a.has_value());
  return a.error().describe();
}

const std::string kHttpsCluster = std::string("    certificate-authority-data: ") + kCaData +
                                  "\n"
                                  "    server: https://127.0.0.1:36443\n";

TEST_CASE("a kubeconfig with CA data and a token", "[kubernetes][kubeconfig]") {
  auto a = parse_kubeconfig(kubeconfig(kHttpsCluster, "    token: eyJhbGciOiJSUzI1NiJ9.e30.sig\n"),
                            "/home/me/.kube/config");
  REQUIRE(a);
  CHECK(a->server.tls);
  CHECK(a->server.address.to_string() == "127.0.0.1:36443");
  CHECK(a->server.path_prefix.empty());
  CHECK(a->server_name == "127.0.0.1");
  CHECK(a->ca_pem == kCaPem);
  CHECK(a->ca_file.empty());
  CHECK(a->token == "eyJhbGciOiJSUzI1NiJ9.e30.sig");
  CHECK(a->token_file.empty());
  CHECK(a->source == "kubeconfig /home/me/.kube/config (context kind-dev)");
}

TEST_CASE("a kubeconfig with CA and token files, relative to it", "[kubernetes][kubeconfig]") {
  auto a = parse_kubeconfig(kubeconfig("    certificate-authority: pki/ca.crt\n"
                                       "    server: https://kubernetes.example.com\n"
                                       "    tls-server-name: kubernetes.default.svc\n",
                                       "    tokenFile: /var/run/secrets/tokens/api\n"),
                            "/etc/lmesh/kubeconfig");
  REQUIRE(a);
  CHECK(a->server.address.to_string() == "kubernetes.example.com:443");
  CHECK(a->server_name == "kubernetes.default.svc");
  CHECK(a->ca_file == "/etc/lmesh/pki/ca.crt");
  CHECK(a->token_file == "/var/run/secrets/tokens/api");

  // kubectl's rule: token wins over tokenFile.
  auto both =
      parse_kubeconfig(kubeconfig(kHttpsCluster, "    token: abc\n    tokenFile: /tmp/t\n"), "/k");
  REQUIRE(both);
  CHECK(both->token == "abc");
  CHECK(both->token_file.empty());
}

TEST_CASE("plain http (kubectl proxy) without a credential", "[kubernetes][kubeconfig]") {
  std::string text =
      "apiVersion: v1\nkind: Config\ncurrent-context: proxy\n"
      "contexts: [{name: proxy, context: {cluster: proxy}}]\n"
      "clusters: [{name: proxy, cluster: {server: 'http://127.0.0.1:8001/'}}]\n";
  auto a = parse_kubeconfig(text, "/k");
  REQUIRE(a);
  CHECK_FALSE(a->server.tls);
  CHECK(a->server.address.to_string() == "127.0.0.1:8001");
  CHECK(a->token.empty());
  CHECK(a->token_file.empty());
}

TEST_CASE("what a kubeconfig may not ask for names its field", "[kubernetes][kubeconfig]") {
  CHECK(error_of(parse_kubeconfig(kubeconfig(kHttpsCluster,
                                             "    client-certificate-data: LS0t\n"
                                             "    client-key-data: LS0t\n"),
                                  "/k")) ==
        "kubeconfig /k: users[lmesh-destination].user.client-certificate-data: client "
        "certificate authentication is not supported; give user.token or user.tokenFile (e.g. "
        "a ServiceAccount token) instead");
  CHECK(error_of(parse_kubeconfig(kubeconfig(kHttpsCluster,
                                             "    exec:\n"
                                             "      apiVersion: client.authentication.k8s.io/v1\n"
                                             "      command: aws\n"
                                             "      args: [eks, get-token]\n"),
                                  "/k"))
            .starts_with("kubeconfig /k: users[lmesh-destination].user.exec: exec credential "
                         "plugins are not supported"));
  CHECK(error_of(
            parse_kubeconfig(kubeconfig(kHttpsCluster, "    auth-provider: {name: gcp}\n"), "/k"))
            .starts_with("kubeconfig /k: users[lmesh-destination].user.auth-provider: "));
  CHECK(error_of(parse_kubeconfig(kubeconfig(kHttpsCluster + "    insecure-skip-tls-verify: true\n",
                                             "    token: abc\n"),
                                  "/k"))
            .starts_with("kubeconfig /k: clusters[kind-dev].cluster.insecure-skip-tls-verify: is "
                         "not supported"));
  CHECK(error_of(parse_kubeconfig(
            kubeconfig("    server: https://10.0.0.1:6443\n", "    token: abc\n"), "/k")) ==
        "kubeconfig /k: clusters[kind-dev].cluster: an https server needs certificate-authority "
        "or certificate-authority-data");
  CHECK(error_of(parse_kubeconfig(
            kubeconfig("    certificate-authority-data: '%%%'\n    server: https://h:1\n",
                       "    token: abc\n"),
            "/k")) ==
        "kubeconfig /k: clusters[kind-dev].cluster.certificate-authority-data: is not valid "
        "base64");
  CHECK(
      error_of(parse_kubeconfig(kubeconfig("    server: ftp://h:1\n", "    token: abc\n"), "/k")) ==
      "kubeconfig /k: clusters[kind-dev].cluster.server: \"ftp://h:1\" is not an https:// (or "
      "http://) URL");
  CHECK(error_of(parse_kubeconfig(kubeconfig(kHttpsCluster, "    token: 42\n"), "/k")) ==
        "kubeconfig /k: users[lmesh-destination].user.token: must be a string");
}

TEST_CASE("the current context must lead somewhere", "[kubernetes][kubeconfig]") {
  CHECK(error_of(parse_kubeconfig("apiVersion: v1\nkind: Config\nclusters: []\n", "/k")) ==
        "kubeconfig /k: current-context: is not set");
  CHECK(error_of(parse_kubeconfig("current-context: x\ncontexts: []\n", "/k")) ==
        "kubeconfig /k: contexts: has no entry named \"x\"");
  CHECK(error_of(parse_kubeconfig(
            "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n", "/k")) ==
        "kubeconfig /k: clusters: must be a list with an entry named \"c\"");
  CHECK(error_of(parse_kubeconfig(
            "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
            "clusters: [{name: c, cluster: {server: 'http://h:1'}}]\nusers: []\n",
            "/k")) == "kubeconfig /k: users: has no entry named \"u\"");
  // YAML errors carry the line, as yaml-cpp reports it (the end of the file here).
  CHECK(error_of(parse_kubeconfig("current-context: [x\n", "/k")) ==
        "kubeconfig /k:2: not valid YAML: end of sequence flow not found");
  CHECK(error_of(parse_kubeconfig("- a\n- b\n", "/k")) ==
        "kubeconfig /k: (document): must be a mapping (a kubeconfig)");
}

TEST_CASE("server URLs", "[kubernetes][kubeconfig]") {
  auto v6 = parse_server_url("https://[fd00::1]:6443");
  REQUIRE(v6);
  CHECK(v6->address.host == "fd00::1");
  CHECK(v6->address.port == 6443);
  auto rancher = parse_server_url("https://rancher.example.com/k8s/clusters/c-m-4x2/");
  REQUIRE(rancher);
  CHECK(rancher->address.to_string() == "rancher.example.com:443");
  CHECK(rancher->path_prefix == "/k8s/clusters/c-m-4x2");
  auto plain = parse_server_url("http://localhost");
  REQUIRE(plain);
  CHECK(plain->address.port == 80);
  CHECK_FALSE(parse_server_url("127.0.0.1:6443"));
  CHECK_FALSE(parse_server_url("https://h:0"));
  CHECK_FALSE(parse_server_url("https://h:1/?watch=1"));
}

TEST_CASE("in a pod", "[kubernetes][kubeconfig]") {
  auto a = in_cluster_access("10.96.0.1", "443", std::string(kInClusterTokenFile),
                             std::string(kInClusterCaFile));
  REQUIRE(a);
  CHECK(a->server.tls);
  CHECK(a->server.address.to_string() == "10.96.0.1:443");
  CHECK(a->server_name == "10.96.0.1");
  CHECK(a->token_file == "/var/run/secrets/kubernetes.io/serviceaccount/token");
  CHECK(a->ca_file == "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
  auto v6 = in_cluster_access("fd00:10:96::1", "443", "t", "c");
  REQUIRE(v6);
  CHECK(v6->server.address.host == "fd00:10:96::1");
  CHECK(in_cluster_access("", "443", "t", "c")
            .error()
            .describe()
            .find("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set") !=
        std::string::npos);
  CHECK_FALSE(in_cluster_access("10.96.0.1", "https", "t", "c"));
}

TEST_CASE("base64", "[kubernetes][kubeconfig]") {
  CHECK(*decode_base64("") == "");
  CHECK(*decode_base64("Zg==") == "f");
  CHECK(*decode_base64("Zm8=") == "fo");
  CHECK(*decode_base64("Zm9v") == "foo");
  CHECK(*decode_base64("Zm9v\nYmFy") == "foobar");
  CHECK(*decode_base64("Zm8") == "fo");
  CHECK_FALSE(decode_base64("Z"));
  CHECK_FALSE(decode_base64("Zm=9"));
  CHECK_FALSE(decode_base64("Zm9v!"));
}

}  // namespace
}  // namespace lmesh::destination::kubernetes
