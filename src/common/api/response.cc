#include "common/api/response.h"

#include <nlohmann/json.hpp>

namespace lmesh::api {

void Response::json(int status, const nlohmann::json& body) {
  send(status, "application/json", body.dump() + "\n");
}

void Response::error(int status, std::string_view error, std::string_view detail) {
  json(status, nlohmann::json{{"error", error}, {"detail", detail}});
}

void Response::send_event(const nlohmann::json& event) {
  send_line(event.dump());
}

}  // namespace lmesh::api
