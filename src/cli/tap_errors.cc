#include "cli/tap_errors.h"

#include <nlohmann/json.hpp>

namespace lmesh::cli {

std::string unreachable_message(const net::HostPort& server, const Error& why) {
  // The transport's message says which call failed ("connect: connection refused"); a person
  // asking for a tap needs only the reason.
  std::string reason = why.code() == ErrorCode::kRefused ? "connection refused" : why.describe();
  return "cannot reach lmesh-tap at " + server.to_string() + ": " + reason;
}

std::string refusal_message(const net::HostPort& server, int status, std::string_view body) {
  auto o = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (o.is_object()) {
    for (const char* key : {"detail", "error"}) {
      auto it = o.find(key);
      if (it != o.end() && it->is_string() && !it->get<std::string>().empty()) {
        return it->get<std::string>();
      }
    }
  }
  return "lmesh-tap at " + server.to_string() + " answered HTTP " + std::to_string(status);
}

}  // namespace lmesh::cli
