#include "cli/tap_format.h"

#include <array>

namespace lmesh::cli {
namespace {

constexpr char kRed[] = "\x1b[31m";
constexpr char kReset[] = "\x1b[0m";

// Linkerd pads "in" to the width of "out" so that the columns after it line up.
std::string_view proxy_direction(std::string_view direction) {
  if (direction == "outbound") return "out";
  if (direction == "inbound") return "in ";
  return "???";
}

}  // namespace

std::string grpc_status_name(int code) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code >= 0 && static_cast<size_t>(code) < kNames.size()) {
    return std::string(kNames[static_cast<size_t>(code)]);
  }
  return "Code(" + std::to_string(code) + ")";
}

std::string micros(uint64_t us) {
  return std::to_string(us) + "µs";
}

std::string field_value(std::string_view value) {
  if (!value.empty() && value.find_first_of(" \"\t") == std::string_view::npos) {
    return std::string(value);
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string note_prefix(const TapProxy& proxy) {
  if (proxy.pod.empty()) return "# ";
  return "# proxy " + proxy.pod + " (" + proxy.namespace_name + "): ";
}

std::string TapFormatter::common_fields(const TapEvent& event, const TapEvent* request) const {
  std::string out = "id=" + event.id;
  if (request == nullptr) {
    // The request_init came before the tap started, or was dropped or evicted.
    return out + " proxy=??? src=? dst=? tls=?";
  }
  out.append(" proxy=").append(proxy_direction(request->direction));
  out.append(" src=").append(request->source);
  out.append(" dst=").append(request->destination);
  out.append(" tls=").append(request->tls);
  return out;
}

std::string TapFormatter::finish(std::string line, const TapEvent& event, bool failed) const {
  if (options_.wide && !event.proxy.pod.empty()) {
    line.append(" proxy_pod=").append(event.proxy.pod);
    line.append(" proxy_ns=").append(event.proxy.namespace_name);
  }
  if (options_.colour && failed) return kRed + line + kReset;
  return line;
}

std::optional<TapLine> TapFormatter::format(const TapEvent& event) {
  switch (event.kind) {
    case TapEventKind::kRequestInit: {
      pending_.insert(request_key(event), PendingRequest{event, std::nullopt, 0});
      std::string line = "req " + common_fields(event, &event);
      line.append(" :method=").append(event.method);
      line.append(" :authority=").append(event.authority);
      line.append(" :path=").append(event.path);
      return TapLine{finish(std::move(line), event, false)};
    }
    case TapEventKind::kResponseInit: {
      PendingRequest* p = pending_.find(request_key(event));
      std::string line = "rsp " + common_fields(event, p != nullptr ? &p->request : nullptr);
      line.append(" :status=").append(std::to_string(event.status));
      line.append(" latency=").append(micros(event.latency_us));
      return TapLine{finish(std::move(line), event, event.status >= 500)};
    }
    case TapEventKind::kResponseEnd: {
      std::string key = request_key(event);
      PendingRequest* p = pending_.find(key);
      std::string line = "end " + common_fields(event, p != nullptr ? &p->request : nullptr);
      if (event.grpc_status)
        line.append(" grpc-status=").append(grpc_status_name(*event.grpc_status));
      if (!event.reset.empty()) line.append(" reset=").append(field_value(event.reset));
      if (!event.error.empty()) line.append(" error=").append(field_value(event.error));
      line.append(" duration=").append(micros(event.duration_us));
      line.append(" response-length=").append(std::to_string(event.response_bytes)).append("B");
      pending_.erase(key);
      bool failed = !event.reset.empty() || !event.error.empty() ||
                    (event.grpc_status && *event.grpc_status != 0);
      return TapLine{finish(std::move(line), event, failed)};
    }
    case TapEventKind::kDropped: {
      std::string what = event.count == 1 ? " event dropped" : " events dropped";
      return TapLine{note_prefix(event.proxy) + std::to_string(event.count) + what, true};
    }
    case TapEventKind::kProxyError:
      return TapLine{note_prefix(event.proxy) + (event.error.empty() ? "failed" : event.error),
                     true};
    case TapEventKind::kUnknown: break;
  }
  return std::nullopt;
}

}  // namespace lmesh::cli
