#include "cli/tap_event.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace lmesh::cli {
namespace {

using nlohmann::json;

// Tolerant readers: a field of an unexpected type reads as absent rather than failing the
// whole event, since one odd field should not hide the rest of a live stream.
std::string text(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

uint64_t count(const json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer())
    return static_cast<uint64_t>(std::max<int64_t>(0, it->get<int64_t>()));
  return static_cast<uint64_t>(std::max(0.0, it->get<double>()));
}

std::optional<int> integer(const json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number_integer()) return std::nullopt;
  return static_cast<int>(it->get<int64_t>());
}

TapEventKind kind_of(std::string_view kind) {
  if (kind == "request_init") return TapEventKind::kRequestInit;
  if (kind == "response_init") return TapEventKind::kResponseInit;
  if (kind == "response_end") return TapEventKind::kResponseEnd;
  if (kind == "dropped") return TapEventKind::kDropped;
  if (kind == "proxy_error") return TapEventKind::kProxyError;
  return TapEventKind::kUnknown;
}

}  // namespace

Result<TapEvent> parse_tap_event(std::string_view line) {
  json o = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!o.is_object()) return fail(ErrorCode::kProtocol, "not a JSON object");
  auto kind = o.find("kind");
  if (kind == o.end() || !kind->is_string()) {
    return fail(ErrorCode::kProtocol, "an event without a kind");
  }
  TapEvent e;
  e.kind = kind_of(kind->get<std::string>());
  e.id = text(o, "id");
  if (auto p = o.find("proxy"); p != o.end() && p->is_object()) {
    e.proxy = TapProxy{text(*p, "pod"), text(*p, "namespace"), text(*p, "workload")};
  }
  e.direction = text(o, "direction");
  e.source = text(o, "source");
  e.destination = text(o, "destination");
  e.tls = text(o, "tls");
  e.method = text(o, "method");
  e.authority = text(o, "authority");
  e.path = text(o, "path");
  e.status = integer(o, "status").value_or(0);
  e.latency_us = count(o, "latency_us");
  e.duration_us = count(o, "duration_us");
  e.response_bytes = count(o, "response_bytes");
  e.grpc_status = integer(o, "grpc_status");
  e.reset = text(o, "reset");
  e.error = text(o, "error");
  e.count = count(o, "count");
  return e;
}

std::string request_key(const TapEvent& event) {
  return event.proxy.namespace_name + "/" + event.proxy.pod + " " + event.id;
}

}  // namespace lmesh::cli
