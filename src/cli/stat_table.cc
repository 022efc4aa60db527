#include "cli/stat_table.h"

#include <nlohmann/json.hpp>

#include <set>

#include "cli/figures.h"
#include "cli/text_table.h"

namespace lmesh::cli {
namespace {

using nlohmann::json;

std::string text(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<double> number(const json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

uint64_t whole(const json& o, const char* key) {
  auto n = number(o, key);
  return n && *n > 0 ? static_cast<uint64_t>(*n) : 0;
}

Result<json> parse_rows(std::string_view body) {
  json o = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!o.is_object()) return fail(ErrorCode::kProtocol, "the answer is not a JSON object");
  auto rows = o.find("rows");
  if (rows == o.end() || !rows->is_array()) {
    return fail(ErrorCode::kProtocol, "the answer has no \"rows\" array");
  }
  return *rows;
}

std::string or_dash(bool has_requests, const std::optional<double>& v,
                    std::string (*format)(double)) {
  return has_requests && v ? format(*v) : "-";
}

}  // namespace

Result<std::vector<StatRow>> parse_stat_rows(std::string_view body) {
  auto rows = parse_rows(body);
  if (!rows) return fail(rows.error());
  std::vector<StatRow> out;
  for (const json& r : *rows) {
    if (!r.is_object()) continue;
    out.push_back(StatRow{text(r, "name"), text(r, "namespace"), text(r, "meshed"),
                          whole(r, "requests"), number(r, "success_rate"), number(r, "rps"),
                          number(r, "latency_ms_p50"), number(r, "latency_ms_p95"),
                          number(r, "latency_ms_p99"), whole(r, "tcp_connections")});
  }
  return out;
}

std::string render_stat_table(const std::vector<StatRow>& rows) {
  std::set<std::string> namespaces;
  for (const StatRow& r : rows) namespaces.insert(r.namespace_name);
  bool with_namespace = namespaces.size() > 1;

  std::vector<Column> columns;
  if (with_namespace) columns.push_back({"NAMESPACE", Align::kLeft});
  columns.push_back({"NAME", Align::kLeft});
  for (const char* h :
       {"MESHED", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95", "LATENCY_P99", "TCP_CONN"}) {
    columns.push_back({h, Align::kRight});
  }
  std::vector<std::vector<std::string>> cells;
  for (const StatRow& r : rows) {
    bool active = r.requests > 0;
    std::vector<std::string> row;
    if (with_namespace) row.push_back(r.namespace_name);
    row.push_back(r.name);
    row.push_back(r.meshed.empty() ? "-" : r.meshed);
    row.push_back(or_dash(active, r.success_rate, format_percent));
    row.push_back(or_dash(active, r.rps, format_rps));
    row.push_back(or_dash(active, r.latency_ms_p50, format_ms));
    row.push_back(or_dash(active, r.latency_ms_p95, format_ms));
    row.push_back(or_dash(active, r.latency_ms_p99, format_ms));
    row.push_back(std::to_string(r.tcp_connections));
    cells.push_back(std::move(row));
  }
  return render_table(columns, cells);
}

Result<std::string> stat_rows_json(std::string_view body) {
  auto rows = parse_rows(body);
  if (!rows) return fail(rows.error());
  return rows->dump(2) + "\n";
}

}  // namespace lmesh::cli
