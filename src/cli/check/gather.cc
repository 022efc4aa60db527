#include "cli/check/gather.h"

#include <utility>

#include "cli/check/probes.h"
#include "common/fs/read_file.h"

namespace lmesh::cli::check {

ProcessObservation observe_process(const up::ProcessRef& process) {
  return {process.pid, up::liveness(process)};
}

CaFiles read_ca_files(const std::string& state_dir) {
  CaFiles files{state_dir + "/ca/ca.crt", std::string(), state_dir + "/ca/issuer.crt",
                std::string()};
  files.anchor_pem = fs::read_file(files.anchor_path);
  files.issuer_pem = fs::read_file(files.issuer_path);
  return files;
}

MeshObservations observe_mesh(const up::UpState& state, const CaFiles& ca,
                              std::chrono::milliseconds timeout) {
  MeshObservations seen;
  seen.up = observe_process(state.up);
  auto controllers = up::controllers(state);
  seen.controllers.resize(controllers.size());
  seen.controllers_ready.resize(controllers.size());
  seen.controllers_metrics.resize(controllers.size());
  seen.pods.resize(state.pods.size());

  ProbeSet probes;
  for (size_t i = 0; i < controllers.size(); ++i) {
    const up::ControllerState& controller = *controllers[i].state;
    seen.controllers[i] = observe_process(controller.process);
    probes.http.push_back({controller.addr, "/ready", &seen.controllers_ready[i]});
    probes.http.push_back({controller.addr, "/metrics", &seen.controllers_metrics[i]});
  }
  // Without a usable trust anchor there is nothing to verify proxies against; the identity
  // category says why.
  if (ca.anchor_pem) {
    auto context = probe_tls_context(*ca.anchor_pem);
    if (context) probes.tls_context = std::move(*context);
  }
  for (size_t i = 0; i < state.pods.size(); ++i) {
    const up::PodState& pod = state.pods[i];
    PodObservation& pod_seen = seen.pods[i];
    pod_seen.proxy = observe_process(pod.proxy);
    probes.http.push_back({pod.admin, "/ready", &pod_seen.ready});
    probes.http.push_back({pod.admin, "/metrics", &pod_seen.metrics});
    if (!pod.identity.empty() && probes.tls_context != nullptr) {
      pod_seen.tls.emplace();
      probes.tls.push_back({pod.admin, pod.identity, &*pod_seen.tls});
    }
  }
  run_probes(probes, timeout);
  return seen;
}

}  // namespace lmesh::cli::check
