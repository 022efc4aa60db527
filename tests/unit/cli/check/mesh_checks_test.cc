// The checks of a running mesh, judged from made-up observations (src/cli/check/mesh_checks.h).
#include "cli/check/mesh_checks.h"

#include <catch2/catch.hpp>

#include "common/tls/authority.h"

namespace lmesh::cli::check {
namespace {

using Clock = std::chrono::system_clock;
constexpr char kWeb[] = "web.default.serviceaccount.identity.lmesh.cluster.local";

up::UpState state() {
  up::UpState s;
  s.version = "0.1.0";
  s.up = {100, 1};
  for (up::ControllerState* c : {&s.identity, &s.destination, &s.tap}) {
    *c = {"127.0.0.1:8080", {101, 1}};
  }
  up::PodState& pod = s.pods.emplace_back();
  pod.name = "web-0";
  pod.namespace_name = "default";
  pod.workload = "deploy/web";
  pod.identity = kWeb;
  pod.admin = "127.0.0.1:4191";
  pod.proxy = {200, 1};
  return s;
}

const Clock::time_point kNow = Clock::now();

// lmesh_build_info as every lmesh binary exposes it (common/metrics/build_info.h).
std::string build_info(const std::string& version, const std::string& binary) {
  return "# TYPE lmesh_build_info gauge\nlmesh_build_info{version=\"" + version + "\",binary=\"" +
         binary + "\"} 1\n";
}

std::string certificate_expiring_in(std::chrono::seconds left) {
  auto at = std::chrono::duration_cast<std::chrono::seconds>((kNow + left).time_since_epoch());
  return "identity_cert_expiration_timestamp_seconds " + std::to_string(at.count()) + "\n";
}

// A proxy's /metrics.
std::string metrics_expiring_in(std::chrono::seconds left, const std::string& version = "0.1.0") {
  return certificate_expiring_in(left) + build_info(version, "lmesh-proxy");
}

// Everything healthy.
MeshObservations seen() {
  MeshObservations o;
  o.up = {100, up::Liveness::kAlive};
  o.controllers.assign(3, {101, up::Liveness::kAlive});
  o.controllers_ready.assign(3, {200, "ready\n", ""});
  for (std::string_view name : up::kControllerNames) {
    o.controllers_metrics.push_back({200, build_info("0.1.0", "lmesh-" + std::string(name)), ""});
  }
  PodObservation pod;
  pod.proxy = {200, up::Liveness::kAlive};
  pod.ready = {200, "ready\n", ""};
  pod.metrics = {200, metrics_expiring_in(std::chrono::hours(20)), ""};
  pod.tls = TlsObservation{};
  o.pods.push_back(pod);
  return o;
}

CaFiles ca_files() {
  static const std::string pem = [] {
    auto root = tls::make_root_ca("root.test", std::chrono::hours(24 * 365), std::chrono::hours(1));
    REQUIRE(root);
    auto issuer = tls::make_intermediate_ca("issuer.test", std::chrono::hours(24 * 365), *root,
                                            std::chrono::hours(1));
    REQUIRE(issuer);
    return root->certificate.to_pem() + "\n" + issuer->certificate.to_pem();
  }();
  // The anchor file's first certificate is the root; the issuer file's first is the issuer.
  std::string issuer_pem = pem.substr(pem.find("-----BEGIN", 1));
  return {"/s/ca/ca.crt", pem, "/s/ca/issuer.crt", issuer_pem};
}

const MeshContext kContext{"/s", "0.1.0", kNow};

const CheckResult* find(const Report& r, std::string_view description) {
  for (const Category& c : r.categories) {
    for (const CheckResult& check : c.checks) {
      if (check.description == description) return &check;
    }
  }
  return nullptr;
}

TEST_CASE("mesh: all healthy is four categories of successes", "[cli][check]") {
  Report r = mesh_report(state(), seen(), ca_files(), kContext);
  CHECK(r.success());
  REQUIRE(r.categories.size() == 4);
  CHECK(r.categories[0].name == "lmesh-existence");
  CHECK(r.categories[1].name == "control-plane");
  CHECK(r.categories[2].name == "identity");
  CHECK(r.categories[3].name == "data-plane");
  for (const Category& c : r.categories) {
    for (const CheckResult& check : c.checks) {
      INFO(check.description << ": " << check.error);
      CHECK(check.verdict == Verdict::kSuccess);
    }
  }
  CHECK(find(r, "lmesh-proxy of default/web-0 proves its identity with the trust anchor"));
}

TEST_CASE("mesh: a dead proxy is named, with the reason and its log", "[cli][check]") {
  MeshObservations o = seen();
  o.pods[0].proxy.liveness = up::Liveness::kGone;
  o.pods[0].ready = {0, "", "connection refused"};
  o.pods[0].metrics = {0, "", "connection refused"};
  o.pods[0].tls = TlsObservation{"connection refused"};
  Report r = mesh_report(state(), o, ca_files(), kContext);
  CHECK_FALSE(r.success());
  const CheckResult* running = find(r, "lmesh-proxy of default/web-0 is running");
  REQUIRE(running);
  CHECK(running->verdict == Verdict::kError);
  CHECK(running->error == "process 200 has exited");
  CHECK(running->hint == "its log, /s/logs/web-0.default.proxy.log");
  const CheckResult* ready = find(r, "lmesh-proxy of default/web-0 is ready");
  REQUIRE(ready);
  CHECK(ready->error == "GET http://127.0.0.1:4191/ready: connection refused");
  // The same refusal is not repeated for the certificate and the handshake.
  CHECK(r.categories[3].checks.size() == 2);
}

TEST_CASE("mesh: a proxy's certificate expiring, missing, or from another anchor", "[cli][check]") {
  constexpr char kCert[] = "lmesh-proxy of default/web-0 has a valid identity certificate";
  constexpr char kTls[] = "lmesh-proxy of default/web-0 proves its identity with the trust anchor";
  MeshObservations o = seen();
  // 31 minutes in whole seconds is a little over 30 minutes from kNow.
  o.pods[0].metrics.body = metrics_expiring_in(std::chrono::minutes(31));
  Report soon = mesh_report(state(), o, ca_files(), kContext);
  CHECK(soon.success());
  CHECK(find(soon, kCert)->verdict == Verdict::kWarning);
  CHECK(find(soon, kCert)->error.find("(in 30 minutes)") != std::string::npos);

  o.pods[0].metrics.body = metrics_expiring_in(-std::chrono::minutes(1));
  Report expired = mesh_report(state(), o, ca_files(), kContext);
  CHECK(find(expired, kCert)->verdict == Verdict::kError);
  CHECK(find(expired, kTls) == nullptr);  // the reason is already given

  o.pods[0].metrics = {200, "process_cpu_seconds_total 1\n", ""};
  o.pods[0].ready = {503, "not ready\n", ""};
  Report none = mesh_report(state(), o, ca_files(), kContext);
  CHECK(find(none, "lmesh-proxy of default/web-0 is ready")->error ==
        "GET http://127.0.0.1:4191/ready answered 503: not ready");
  CHECK(find(none, kCert)->error ==
        "no identity certificate yet (no identity_cert_expiration_timestamp_seconds)");

  o = seen();
  o.pods[0].tls = TlsObservation{"its certificate is not issued by the current trust anchor"};
  Report foreign = mesh_report(state(), o, ca_files(), kContext);
  CHECK(find(foreign, kTls)->verdict == Verdict::kError);
  CHECK(find(foreign, kTls)->error ==
        std::string("TLS to 127.0.0.1:4191 as ") + kWeb +
            ": its certificate is not issued by the current trust anchor");
}

TEST_CASE("mesh: lmesh up and controllers", "[cli][check]") {
  MeshObservations o = seen();
  o.up.liveness = up::Liveness::kReplaced;
  o.controllers_ready[1] = {0, "", "timed out after 2s"};
  Report r = mesh_report(state(), o, ca_files(), kContext);
  CHECK(find(r, "lmesh up is running")->error ==
        "process 100 has exited (the pid now belongs to another process)");
  CHECK(find(r, "lmesh-destination is ready")->error ==
        "GET http://127.0.0.1:8080/ready: timed out after 2s");
  CHECK(find(r, "lmesh-destination is ready")->hint == "its log, /s/logs/destination.log");
}

constexpr char kVersions[] = "control plane and cli versions match";
constexpr char kProxyVersion[] = "lmesh-proxy of default/web-0 runs the control plane's version";

TEST_CASE("versions: a controller of another lmesh fails, naming both versions", "[cli][check]") {
  MeshObservations o = seen();
  MeshContext newer = kContext;
  newer.cli_version = "0.2.0";
  Report r = mesh_report(state(), o, ca_files(), newer);
  const CheckResult* versions = find(r, kVersions);
  REQUIRE(versions);
  CHECK(versions->verdict == Verdict::kError);
  CHECK(versions->error ==
        "lmesh-identity runs 0.1.0, lmesh-destination runs 0.1.0, lmesh-tap runs 0.1.0, this is "
        "lmesh 0.2.0");
  CHECK(versions->hint.find("lmesh down") != std::string::npos);
  // The proxies run what the control plane runs, whatever this CLI is.
  CHECK(find(r, kProxyVersion)->verdict == Verdict::kSuccess);

  o.controllers_metrics[2].body = build_info("0.0.9", "lmesh-tap");
  Report one = mesh_report(state(), o, ca_files(), kContext);
  CHECK(find(one, kVersions)->verdict == Verdict::kError);
  CHECK(find(one, kVersions)->error == "lmesh-tap runs 0.0.9, this is lmesh 0.1.0");
}

TEST_CASE("versions: a controller without lmesh_build_info, or silent, warns", "[cli][check]") {
  MeshObservations o = seen();
  o.controllers_metrics[0].body = "process_cpu_seconds_total 1\n";
  o.controllers_metrics[1] = {0, "", "connection refused"};
  Report r = mesh_report(state(), o, ca_files(), kContext);
  CHECK(r.success());
  const CheckResult* versions = find(r, kVersions);
  CHECK(versions->verdict == Verdict::kWarning);
  CHECK(versions->error ==
        "cannot tell the version of lmesh-identity: its /metrics has no lmesh_build_info; "
        "lmesh-destination: GET http://127.0.0.1:8080/metrics: connection refused");
  // A mismatch outweighs what is unknown.
  o.controllers_metrics[2].body = build_info("0.0.9", "lmesh-tap");
  CHECK(find(mesh_report(state(), o, ca_files(), kContext), kVersions)->verdict == Verdict::kError);
}

TEST_CASE("versions: a proxy of another version than the control plane's warns", "[cli][check]") {
  MeshObservations o = seen();
  o.pods[0].metrics.body = metrics_expiring_in(std::chrono::hours(20), "0.0.9");
  Report r = mesh_report(state(), o, ca_files(), kContext);
  CHECK(r.success());
  const CheckResult* proxy = find(r, kProxyVersion);
  REQUIRE(proxy);
  CHECK(proxy->verdict == Verdict::kWarning);
  CHECK(proxy->error == "it runs lmesh-proxy 0.0.9, the control plane 0.1.0");

  // No gauge: ‼, and the certificate check is unaffected.
  o.pods[0].metrics.body = certificate_expiring_in(std::chrono::hours(20));
  Report missing = mesh_report(state(), o, ca_files(), kContext);
  CHECK(find(missing, kProxyVersion)->verdict == Verdict::kWarning);
  CHECK(find(missing, kProxyVersion)->error ==
        "cannot tell its version: its /metrics has no lmesh_build_info");
  CHECK(find(missing, "lmesh-proxy of default/web-0 has a valid identity certificate")->verdict ==
        Verdict::kSuccess);

  // The control plane's version is the first controller's that reports one.
  o = seen();
  o.controllers_metrics[0] = {0, "", "connection refused"};
  o.controllers_metrics[1].body = build_info("0.0.9", "lmesh-destination");
  CHECK(find(mesh_report(state(), o, ca_files(), kContext), kProxyVersion)->error ==
        "it runs lmesh-proxy 0.1.0, the control plane 0.0.9");
  for (HttpObservation& m : o.controllers_metrics) m = {0, "", "connection refused"};
  CHECK(find(mesh_report(state(), o, ca_files(), kContext), kProxyVersion)->error ==
        "the control plane reports no version");
}

TEST_CASE("mesh: no state.json is 'no mesh found', with lmesh up as the hint", "[cli][check]") {
  Report r = no_mesh_report(Error(ErrorCode::kNotFound, "/s/state.json does not exist"));
  CHECK_FALSE(r.success());
  REQUIRE(r.categories.size() == 1);
  const CheckResult& c = r.categories[0].checks[0];
  CHECK(c.error == "no mesh found: /s/state.json does not exist");
  CHECK(c.hint.find("lmesh up") != std::string::npos);
}

}  // namespace
}  // namespace lmesh::cli::check
