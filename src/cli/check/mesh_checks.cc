#include "cli/check/mesh_checks.h"

#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include "common/metrics/build_info.h"

namespace lmesh::cli::check {
namespace {

constexpr char kCertMetric[] = "identity_cert_expiration_timestamp_seconds";

std::string log_hint(const MeshContext& context, std::string_view process) {
  return "its log, " + context.state_dir + "/logs/" + std::string(process) + ".log";
}

CheckResult running_check(std::string description, const ProcessObservation& process,
                          std::string hint) {
  if (process.liveness == up::Liveness::kAlive) return CheckResult::success(std::move(description));
  return CheckResult::failure(std::move(description), describe_not_running(process),
                              std::move(hint));
}

// The first line of an answer's body, bounded: enough to say why, not a page of HTML.
std::string first_line(std::string_view body) {
  std::string_view line = body.substr(0, body.find('\n'));
  constexpr size_t kMax = 200;
  if (line.size() > kMax) return std::string(line.substr(0, kMax)) + "...";
  return std::string(line);
}

// Why a GET did not answer 200, naming where it went.
std::string http_failure(std::string_view addr, std::string_view path,
                         const HttpObservation& seen) {
  std::string where = "GET http://" + std::string(addr) + std::string(path);
  if (seen.status == 0) return where + ": " + seen.error;
  std::string out = where + " answered " + std::to_string(seen.status);
  std::string why = first_line(seen.body);
  if (!why.empty()) out += ": " + why;
  return out;
}

CheckResult ready_check(std::string description, std::string_view addr, const HttpObservation& seen,
                        std::string hint) {
  if (seen.status == 200) return CheckResult::success(std::move(description));
  return CheckResult::failure(std::move(description), http_failure(addr, "/ready", seen),
                              std::move(hint));
}

// What a process's lmesh_build_info says: its version, or why that cannot be known.
struct ReportedVersion {
  std::optional<std::string> version;
  std::string unknown_why;
};

ReportedVersion reported_version(std::string_view addr, const HttpObservation& scrape) {
  if (scrape.status != 200) return {std::nullopt, http_failure(addr, "/metrics", scrape)};
  auto version = metric_label(scrape.body, metrics::kBuildInfoName, "version");
  if (!version || version->empty()) {
    return {std::nullopt, "its /metrics has no " + std::string(metrics::kBuildInfoName)};
  }
  return {std::move(*version), ""};
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

// Each controller's lmesh_build_info against this CLI's version: a controller of another
// version is left over from another lmesh (×); one whose version cannot be read is only ‼, as
// its running and ready checks say what is wrong with it.
CheckResult versions_check(const up::UpState& state, const MeshObservations& seen,
                           const MeshContext& context) {
  constexpr char kVersions[] = "control plane and cli versions match";
  std::vector<std::string> other;
  std::vector<std::string> unknown;
  auto controllers = up::controllers(state);
  for (size_t i = 0; i < controllers.size(); ++i) {
    auto [name, controller] = controllers[i];
    std::string binary = "lmesh-" + std::string(name);
    ReportedVersion reported = reported_version(controller->addr, seen.controllers_metrics[i]);
    if (!reported.version) {
      unknown.push_back(binary + ": " + reported.unknown_why);
    } else if (*reported.version != context.cli_version) {
      other.push_back(binary + " runs " + *reported.version);
    }
  }
  if (!other.empty()) {
    return CheckResult::failure(kVersions,
                                join(other, ", ") + ", this is lmesh " + context.cli_version,
                                "restart the mesh with this lmesh (`lmesh down`, then `lmesh "
                                "up`), or use the lmesh that started it");
  }
  if (!unknown.empty()) {
    return CheckResult::warning(kVersions, "cannot tell the version of " + join(unknown, "; "),
                                "every lmesh binary exposes " +
                                    std::string(metrics::kBuildInfoName) +
                                    ": is this one older, or not answering?");
  }
  return CheckResult::success(kVersions);
}

// The version the control plane runs: the first controller's that reports one (when they
// differ, the control-plane category has said so).
std::optional<std::string> control_plane_version(const up::UpState& state,
                                                 const MeshObservations& seen) {
  auto controllers = up::controllers(state);
  for (size_t i = 0; i < controllers.size(); ++i) {
    auto reported = reported_version(controllers[i].state->addr, seen.controllers_metrics[i]);
    if (reported.version) return reported.version;
  }
  return std::nullopt;
}

// A proxy of another version than the control plane's still serves traffic (Linkerd's
// data-plane version checks are warnings too: proxies are upgraded by restarting them), so
// every outcome but a match is ‼.
CheckResult proxy_version_check(const up::PodState& pod, const PodObservation& seen,
                                const std::optional<std::string>& control_plane,
                                const std::string& prefix, const std::string& hint) {
  std::string description = prefix + " runs the control plane's version";
  if (!control_plane) {
    return CheckResult::warning(description, "the control plane reports no version",
                                "see the control-plane checks");
  }
  ReportedVersion reported = reported_version(pod.admin, seen.metrics);
  if (!reported.version) {
    return CheckResult::warning(description, "cannot tell its version: " + reported.unknown_why,
                                hint);
  }
  if (*reported.version != *control_plane) {
    return CheckResult::warning(
        description,
        "it runs lmesh-proxy " + *reported.version + ", the control plane " + *control_plane,
        "restart it with the control plane's lmesh (`lmesh down`, then `lmesh up`)");
  }
  return CheckResult::success(description);
}

Category existence_category(const MeshObservations& seen, const MeshContext& context) {
  Category category{"lmesh-existence", {}};
  category.checks.push_back(CheckResult::success("lmesh up state is present"));
  category.checks.push_back(running_check("lmesh up is running", seen.up,
                                          "start it with `lmesh up`; `lmesh down --state-dir " +
                                              context.state_dir +
                                              "` cleans up after one that crashed"));
  return category;
}

Category control_plane_category(const up::UpState& state, const MeshObservations& seen,
                                const MeshContext& context) {
  Category category{"control-plane", {}};
  auto controllers = up::controllers(state);
  for (size_t i = 0; i < controllers.size(); ++i) {
    auto [name, controller] = controllers[i];
    std::string binary = "lmesh-" + std::string(name);
    std::string hint = log_hint(context, name);
    category.checks.push_back(running_check(binary + " is running", seen.controllers[i], hint));
    category.checks.push_back(
        ready_check(binary + " is ready", controller->addr, seen.controllers_ready[i], hint));
  }
  category.checks.push_back(versions_check(state, seen, context));
  return category;
}

CheckResult certificate_check(const up::PodState& pod, const PodObservation& seen,
                              const MeshContext& context, const std::string& prefix,
                              const std::string& hint) {
  std::string description = prefix + " has a valid identity certificate";
  if (seen.metrics.status != 200) {
    return CheckResult::failure(description, http_failure(pod.admin, "/metrics", seen.metrics),
                                hint);
  }
  auto expiry = metric_value(seen.metrics.body, kCertMetric);
  if (!expiry || *expiry <= 0 || !std::isfinite(*expiry)) {
    return CheckResult::failure(description,
                                "no identity certificate yet (no " + std::string(kCertMetric) + ")",
                                "is lmesh-identity ready? " + hint);
  }
  auto not_after = TimePoint(std::chrono::seconds(static_cast<int64_t>(*expiry)));
  DateVerdict verdict =
      valid_for_at_least("its certificate", not_after, context.now, kProxyCertMargin);
  if (verdict.verdict == Verdict::kSuccess) return CheckResult::success(description);
  if (verdict.verdict == Verdict::kWarning) {
    verdict.error += ", though proxies renew at 70% of a certificate's life";
  }
  return {description, verdict.verdict, verdict.error, "is lmesh-identity reachable? " + hint};
}

CheckResult tls_check(const up::PodState& pod, const TlsObservation& seen, const CaFiles& ca,
                      const std::string& prefix, const std::string& hint) {
  std::string description = prefix + " proves its identity with the trust anchor";
  if (seen.error.empty()) return CheckResult::success(description);
  return CheckResult::failure(
      description, "TLS to " + pod.admin + " as " + pod.identity + ": " + seen.error,
      "its certificate must name its identity and chain to " + ca.anchor_path +
          " (restart a proxy started before the anchor changed); " + hint);
}

Category data_plane_category(const up::UpState& state, const MeshObservations& seen,
                             const CaFiles& ca, const MeshContext& context) {
  Category category{"data-plane", {}};
  std::optional<std::string> control_plane = control_plane_version(state, seen);
  if (state.pods.empty()) {
    category.checks.push_back(CheckResult::warning("the mesh has pods", "state.json lists no pods",
                                                   "add workloads to the mesh file"));
    return category;
  }
  for (size_t i = 0; i < state.pods.size(); ++i) {
    const up::PodState& pod = state.pods[i];
    const PodObservation& pod_seen = seen.pods[i];
    std::string prefix = "lmesh-proxy of " + pod.qualified_name();
    std::string hint = log_hint(context, pod.name + "." + pod.namespace_name + ".proxy");
    auto& checks = category.checks;
    checks.push_back(running_check(prefix + " is running", pod_seen.proxy, hint));
    checks.push_back(ready_check(prefix + " is ready", pod.admin, pod_seen.ready, hint));
    // A proxy that does not answer at all would fail the rest for the same reason.
    if (pod_seen.ready.status == 0) continue;
    checks.push_back(proxy_version_check(pod, pod_seen, control_plane, prefix, hint));
    if (pod.identity.empty()) {
      checks.push_back(CheckResult::warning(prefix + " has an identity",
                                            "it runs without one: its traffic is not mTLS",
                                            "give the workload a service account"));
      continue;
    }
    checks.push_back(certificate_check(pod, pod_seen, context, prefix, hint));
    // Without a certificate the admin port speaks only plaintext, and with an expired one the
    // handshake fails for the reason just given: the TLS line would only repeat it.
    if (pod_seen.tls && checks.back().verdict != Verdict::kError) {
      checks.push_back(tls_check(pod, *pod_seen.tls, ca, prefix, hint));
    }
  }
  return category;
}

}  // namespace

Report no_mesh_report(const Error& why) {
  std::string error =
      why.code() == ErrorCode::kNotFound ? "no mesh found: " + why.describe() : why.describe();
  std::string hint = why.code() == ErrorCode::kNotFound
                         ? "run `lmesh up`, or point --state-dir at the state dir of one"
                         : "lmesh up rewrites it: is this lmesh the one that wrote it?";
  Report report;
  report.categories.push_back(
      {"lmesh-existence", {CheckResult::failure("lmesh up state is present", error, hint)}});
  return report;
}

Report mesh_report(const up::UpState& state, const MeshObservations& seen, const CaFiles& ca,
                   const MeshContext& context) {
  Report report;
  report.categories.push_back(existence_category(seen, context));
  report.categories.push_back(control_plane_category(state, seen, context));
  report.categories.push_back(identity_category(ca, context.now));
  report.categories.push_back(data_plane_category(state, seen, ca, context));
  return report;
}

}  // namespace lmesh::cli::check
