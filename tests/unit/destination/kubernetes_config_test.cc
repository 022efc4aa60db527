// lmesh-destination's backend flags (src/destination/config.h): exactly one of --mesh-file,
// --kubernetes true and --kubeconfig, the Kubernetes-only flags refused elsewhere, and the
// in-cluster address read from the environment at start.
#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "destination/config.h"

namespace lmesh::destination {
namespace {

std::map<std::string, std::string>* g_env = nullptr;

const char* fake_getenv(const char* name) {
  if (g_env == nullptr) return nullptr;
  auto it = g_env->find(name);
  return it == g_env->end() ? nullptr : it->second.c_str();
}

Result<ParsedArgs> parse(const std::vector<std::string>& args,
                         std::map<std::string, std::string> env = {}) {
  g_env = &env;
  auto out = parse_args(args, fake_getenv);
  g_env = nullptr;
  return out;
}

std::string error_of(const Result<ParsedArgs>& r) {
  REQUIRE_FALSE(r.has_value());
  return r.error().describe();
}

const std::map<std::string, std::string> kPod = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                                 {"KUBERNETES_SERVICE_PORT", "443"}};

TEST_CASE("the mesh file backend, as before", "[kubernetes][config]") {
  auto r = parse({"--mesh-file", "/etc/mesh.yaml"});
  REQUIRE(r);
  CHECK(r->config.mesh_file == "/etc/mesh.yaml");
  CHECK_FALSE(r->config.kubernetes.has_value());
  CHECK(error_of(parse({})).starts_with("--mesh-file FILE is required, or --kubernetes true"));
}

TEST_CASE("the Kubernetes backend in a pod", "[kubernetes][config]") {
  auto r = parse({"--kubernetes", "true"}, kPod);
  REQUIRE(r);
  REQUIRE(r->config.kubernetes.has_value());
  const KubernetesSource& k = *r->config.kubernetes;
  CHECK(k.kubeconfig.empty());
  CHECK(k.service_host == "10.96.0.1");
  CHECK(k.service_port == "443");
  CHECK(k.token_file == "/var/run/secrets/kubernetes.io/serviceaccount/token");
  CHECK(k.ca_file == "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
  CHECK(r->config.cluster_domain == "cluster.local");

  auto custom = parse({"--kubernetes=1", "--kubernetes-token-file", "/t", "--kubernetes-ca-file",
                       "/c", "--cluster-domain", "corp.example"},
                      kPod);
  REQUIRE(custom);
  CHECK(custom->config.kubernetes->token_file == "/t");
  CHECK(custom->config.kubernetes->ca_file == "/c");
  CHECK(custom->config.cluster_domain == "corp.example");

  CHECK(error_of(parse({"--kubernetes", "true"})) ==
        "--kubernetes true: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not "
        "in a pod? give --kubeconfig FILE instead)");
  CHECK(error_of(parse({"--kubernetes", "yes"}, kPod)) ==
        "invalid --kubernetes 'yes': expected true or false");
}

TEST_CASE("the Kubernetes backend with a kubeconfig, also from the environment",
          "[kubernetes][config]") {
  auto r = parse({"--kubeconfig", "/root/.kube/config"});
  REQUIRE(r);
  CHECK(r->config.kubernetes->kubeconfig == "/root/.kube/config");
  auto env = parse({}, {{"LMESH_DESTINATION_KUBECONFIG", "/k"}});
  REQUIRE(env);
  CHECK(env->config.kubernetes->kubeconfig == "/k");
}

TEST_CASE("one backend, and no flag that would be ignored", "[kubernetes][config]") {
  CHECK(error_of(parse({"--mesh-file", "/m", "--kubeconfig", "/k"})) ==
        "--mesh-file and --kubeconfig choose different backends: give one");
  CHECK(error_of(parse({"--kubernetes", "true", "--kubeconfig", "/k"}, kPod)) ==
        "--kubernetes and --kubeconfig choose different backends: give one");
  CHECK(error_of(parse({"--kubeconfig", "/k", "--kubernetes-token-file", "/t"})) ==
        "--kubernetes-token-file applies to --kubernetes true only (a kubeconfig names its own)");
  CHECK(error_of(parse({"--mesh-file", "/m", "--cluster-domain", "corp.example"})) ==
        "--cluster-domain applies to the Kubernetes backend only, not --mesh-file");
  CHECK(error_of(parse({"--kubeconfig", "/k", "--reload-debounce", "1s"})) ==
        "--reload-debounce applies to --mesh-file only");
  CHECK(error_of(parse({"--kubeconfig", "/k", "--cluster-domain", "Corp..Example"})) ==
        "invalid --cluster-domain 'Corp..Example': expected a DNS domain (lowercase letters, "
        "digits, '-' and '.')");
  // --kubernetes false is no choice at all.
  auto r = parse({"--kubernetes", "false", "--mesh-file", "/m"});
  REQUIRE(r);
  CHECK_FALSE(r->config.kubernetes.has_value());
}

}  // namespace
}  // namespace lmesh::destination
