// `lmesh stat`'s output from lmesh-tap's GET /v1/stat answer (src/tap/README.md): Linkerd's
// table, or the rows as JSON. Pure: a body in, text out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace lmesh::cli {

struct StatRow {
  std::string name;
  std::string namespace_name;
  std::string meshed;  // "2/2"
  uint64_t requests = 0;
  // Absent when the service sent null (no requests, or no histogram to interpolate in).
  std::optional<double> success_rate;
  std::optional<double> rps;
  std::optional<double> latency_ms_p50;
  std::optional<double> latency_ms_p95;
  std::optional<double> latency_ms_p99;
  uint64_t tcp_connections = 0;
};

// Fails (kProtocol) when the body is not a JSON object with a "rows" array.
Result<std::vector<StatRow>> parse_stat_rows(std::string_view body);

// NAME MESHED SUCCESS RPS LATENCY_P50 LATENCY_P95 LATENCY_P99 TCP_CONN, with a NAMESPACE column
// first when the rows span several namespaces (`lmesh stat ns`). A row without requests shows
// "-" for its success rate, rate and latencies.
std::string render_stat_table(const std::vector<StatRow>& rows);

// `-o json`: the "rows" array of the answer, as the service sent it, indented.
Result<std::string> stat_rows_json(std::string_view body);

}  // namespace lmesh::cli
