#include "tap/pod_directory.h"

#include <nlohmann/json.hpp>

#include "tap/tap_params.h"

namespace lmesh::tap {
namespace {

api::ClientOptions directory_options() {
  api::ClientOptions o;
  // HTTP/1.1: lookups are rare (one per tap, one per scrape round), so a connection each costs
  // nothing that matters, and any stand-in that speaks plain HTTP can serve them.
  o.protocol = api::ClientProtocol::kHttp1;
  o.connect_timeout = std::chrono::milliseconds(2'000);
  o.request_timeout = std::chrono::milliseconds(5'000);
  o.max_response_bytes = 16 << 20;  // every pod of a large cluster
  return o;
}

// The detail of a {"error","detail"} answer, or its status when the body says nothing.
std::string error_detail(const api::ClientResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto detail = j.find("detail");
    if (detail != j.end() && detail->is_string() && !detail->get<std::string>().empty()) {
      return detail->get<std::string>();
    }
    auto error = j.find("error");
    if (error != j.end() && error->is_string()) return error->get<std::string>();
  }
  return "HTTP " + std::to_string(r.status);
}

Result<std::vector<Pod>> interpret(Result<api::ClientResponse> r) {
  if (!r) return fail(Error::wrap(r.error(), "destination service unreachable"));
  switch (r->status) {
    case 200: {
      auto pods = parse_pods(r->body);
      if (!pods) return fail(Error::wrap(pods.error(), "destination service answered badly"));
      return pods;
    }
    case 404: return fail(ErrorCode::kNotFound, error_detail(*r));
    case 400: return fail(ErrorCode::kInvalidArgument, error_detail(*r));
    default:
      return fail(ErrorCode::kIo, "destination service answered HTTP " + std::to_string(r->status) +
                                      ": " + error_detail(*r));
  }
}

}  // namespace

PodDirectory::PodDirectory(event::Worker& worker, net::SocketAddress destination)
    : client_(worker, std::move(destination), directory_options()) {}

std::unique_ptr<api::Call> PodDirectory::lookup(const std::optional<Target>& target,
                                                const std::string& namespace_, Done done) {
  std::string path = "/v1/pods";
  if (target) {
    path += "?target=" + percent_encode(target->to_string()) +
            "&namespace=" + percent_encode(namespace_);
  }
  return client_.request(
      "GET", std::move(path), "",
      [done = std::move(done)](Result<api::ClientResponse> r) { done(interpret(std::move(r))); });
}

}  // namespace lmesh::tap
