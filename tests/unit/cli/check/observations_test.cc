// Why a process is not running, and Prometheus samples (src/cli/check/observations.h).
// /proc/PID/stat and liveness are tested with state.json, in tests/unit/cli/up/up_state_test.cc.
#include "cli/check/observations.h"

#include <catch2/catch.hpp>

namespace lmesh::cli::check {
namespace {

TEST_CASE("not running: why, in words", "[cli][check]") {
  CHECK(describe_not_running({4242, up::Liveness::kGone}) == "process 4242 has exited");
  CHECK(describe_not_running({4242, up::Liveness::kReplaced}) ==
        "process 4242 has exited (the pid now belongs to another process)");
  CHECK(describe_not_running({0, up::Liveness::kNotStarted}) ==
        "not started (no pid in state.json)");
  CHECK(describe_not_running({4242, up::Liveness::kAlive}).empty());
}

TEST_CASE("metrics: the first sample of a name, with or without labels", "[cli][check]") {
  constexpr char kText[] =
      "# HELP identity_cert_expiration_timestamp_seconds ...\n"
      "# TYPE identity_cert_expiration_timestamp_seconds gauge\n"
      "identity_cert_expiration_timestamp_seconds_total 3\n"
      "identity_cert_expiration_timestamp_seconds 1.7e+09\n"
      "request_total{direction=\"inbound\",authority=\"a b}\"} 12\n";
  CHECK(metric_value(kText, "identity_cert_expiration_timestamp_seconds") == 1.7e9);
  CHECK(metric_value(kText, "request_total") == 12);
  CHECK_FALSE(metric_value(kText, "response_total"));
  CHECK_FALSE(metric_value("x NaNish\n", "x"));
}

TEST_CASE("metrics: a label of the first sample that has it", "[cli][check]") {
  constexpr char kText[] =
      "# HELP lmesh_build_info Which lmesh this process is.\n"
      "# TYPE lmesh_build_info gauge\n"
      "lmesh_build_info_total{version=\"no\"} 1\n"
      "lmesh_build_info{version=\"0.1.0\",binary=\"lmesh-proxy\"} 1\n";
  CHECK(metric_label(kText, "lmesh_build_info", "version") == "0.1.0");
  CHECK(metric_label(kText, "lmesh_build_info", "binary") == "lmesh-proxy");
  CHECK_FALSE(metric_label(kText, "lmesh_build_info", "vendor"));
  CHECK_FALSE(metric_label(kText, "lmesh_build", "version"));
  CHECK_FALSE(metric_label("lmesh_build_info 1\n", "lmesh_build_info", "version"));
  // Escapes, spaces, a '}' and ',' inside a value.
  CHECK(metric_label("m{a=\"x,}\\\"y\\\\\\n\" , b = \"2\"} 1\n", "m", "a") == "x,}\"y\\\n");
  CHECK(metric_label("m{a=\"x,}\\\"y\\\\\\n\" , b = \"2\"} 1\n", "m", "b") == "2");
  // Text that is not well-formed gives nothing rather than a guess (as lmesh-tap reads it).
  CHECK_FALSE(metric_label("m{a=\"unclosed} 1\nm{a=\"ok\"} 1\n", "m", "a"));
  CHECK_FALSE(metric_label("m{a=x} 1\n", "m", "a"));
  CHECK_FALSE(metric_label("m{} 1\n", "m", "a"));
}

}  // namespace
}  // namespace lmesh::cli::check
