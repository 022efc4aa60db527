// What `lmesh check` saw of a running mesh: processes, answers to its requests, handshakes.
// Gathered by gather.h (I/O) and judged by mesh_checks.h (pure), so that every verdict can be
// tested from made-up observations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/up/process_ref.h"

namespace lmesh::cli::check {

struct ProcessObservation {
  int64_t pid = 0;
  up::Liveness liveness = up::Liveness::kNotStarted;  // src/cli/up/process_ref.h
};

// Why a process is not running: "process 1234 has exited", ...; empty when alive.
std::string describe_not_running(const ProcessObservation& process);

// One HTTP GET's outcome.
struct HttpObservation {
  int status = 0;     // 0: no answer
  std::string body;   // of an answer
  std::string error;  // why there was no answer: "connection refused", "timed out after 2s"
};

// A TLS handshake with a proxy's admin port, verifying its certificate against the trust
// anchor and its identity: empty error when it verified.
struct TlsObservation {
  std::string error;
};

struct PodObservation {
  ProcessObservation proxy;
  HttpObservation ready;              // GET /ready on the admin port
  HttpObservation metrics;            // GET /metrics on the admin port
  std::optional<TlsObservation> tls;  // not tried when the pod has no identity or no anchor
};

struct MeshObservations {
  ProcessObservation up;
  std::vector<ProcessObservation> controllers;  // as up::kControllerNames
  std::vector<HttpObservation> controllers_ready;
  std::vector<HttpObservation> controllers_metrics;  // GET /metrics, for lmesh_build_info
  std::vector<PodObservation> pods;                  // as up::UpState::pods
};

// The value of the first sample of `name` in Prometheus text, nullopt when there is none.
std::optional<double> metric_value(std::string_view text, std::string_view name);

// The value of `label` on the first sample of `name` that has it, unescaped (\\, \", \n): the
// version in `lmesh_build_info{version="0.1.0",binary="lmesh-proxy"} 1`. nullopt when no
// sample of `name` has it (a sample whose label set is malformed has none).
std::optional<std::string> metric_label(std::string_view text, std::string_view name,
                                        std::string_view label);

}  // namespace lmesh::cli::check
