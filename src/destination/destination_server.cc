#include "destination/destination_server.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/metrics/prometheus_text.h"
#include "destination/pod_target.h"

namespace lmesh::destination {
namespace {

// A follower's lines into its streamed response. Owned by the store; the response may outlive
// it (the connection holds it too), so the destructor detaches the on_close callback, which
// points at the store.
class ResponseSink final : public StreamSink {
 public:
  explicit ResponseSink(std::shared_ptr<api::Response> response) : response_(std::move(response)) {}
  ~ResponseSink() override { response_->on_close(nullptr); }

  void send_line(std::string line) override { response_->send_line(std::move(line)); }
  void end() override { response_->end_stream(); }

 private:
  std::shared_ptr<api::Response> response_;
};

// Streams are long-lived: nothing is cached between a proxy and this service.
api::ServerOptions server_options() {
  api::ServerOptions o;
  o.max_body_bytes = 4 << 10;  // every route is a GET
  // A proxy follows each authority it talks to with two streams on one connection.
  o.max_concurrent_streams = 100'000;
  return o;
}

}  // namespace

DestinationServer::DestinationServer(event::Worker& worker, Store& store,
                                     DestinationMetrics& metrics, std::string cluster_domain)
    : store_(store),
      metrics_(metrics),
      cluster_domain_(std::move(cluster_domain)),
      server_(worker, server_options()) {
  server_.route("GET", "/v1/resolve", [this](const api::Request& req, auto r) {
    watch(StreamKind::kResolve, req, std::move(r));
  });
  server_.route("GET", "/v1/profile", [this](const api::Request& req, auto r) {
    watch(StreamKind::kProfile, req, std::move(r));
  });
  server_.route("GET", "/v1/pods", [this](const api::Request& req, auto r) { pods(req, *r); });
  server_.route("GET", "/live", [](const api::Request&, std::shared_ptr<api::Response> r) {
    r->send(200, "text/plain", "live\n");
  });
  server_.route("GET", "/ready", [this](const api::Request&, std::shared_ptr<api::Response> r) {
    if (store_.ready()) {
      r->send(200, "text/plain", "ready\n");
    } else {
      r->send(503, "text/plain", "not ready: no mesh state loaded yet\n");
    }
  });
  server_.route("GET", "/metrics", [this](const api::Request&, std::shared_ptr<api::Response> r) {
    r->send(200, metrics::kPrometheusTextContentType, metrics_.render());
  });
}

void DestinationServer::watch(StreamKind kind, const api::Request& request,
                              std::shared_ptr<api::Response> response) {
  std::optional<std::string_view> authority = request.param("authority");
  if (!authority || authority->empty()) {
    response->error(400, "bad authority", "the authority query parameter (host:port) is required");
    return;
  }
  auto found = store_.lookup(*authority);
  if (!found) {
    if (found.error().code() == ErrorCode::kNotFound) {
      response->error(404, "unknown authority", found.error().message());
    } else {
      response->error(400, "bad authority", found.error().message());
    }
    return;
  }
  response->begin_json_stream();
  auto id = store_.subscribe(kind, *authority, std::make_unique<ResponseSink>(response));
  if (!id) {  // cannot happen: looked up just above, on the same loop
    response->end_stream();
    return;
  }
  spdlog::debug("follow kind={} authority={} service={} peer={}", to_string(kind), *authority,
                *found, request.peer.to_string());
  // No reference to the response here (it holds this callback): the store owns the sink.
  response->on_close([store = &store_, id = *id] { store->unsubscribe(id); });
}

void DestinationServer::pods(const api::Request& request, api::Response& response) {
  auto target = parse_target(request.param("target"), request.param("namespace"));
  if (!target) {
    metrics_.pods_request(400);
    response.error(400, "bad target", target.error().message());
    return;
  }
  std::vector<PodMatch> matches =
      select_pods(*target, store_.pods(), store_.services(), cluster_domain_);
  // No target asks for everything, and "nothing" is then a true answer, not a miss.
  if (matches.empty() && target->kind != TargetKind::kEverything) {
    metrics_.pods_request(404);
    response.error(404, "no match", "no pods for " + target->describe());
    return;
  }
  nlohmann::json list = nlohmann::json::array();
  for (const PodMatch& m : matches) list.push_back(to_json(*m.pod, m.services));
  metrics_.pods_request(200);
  response.send(200, "application/json", nlohmann::json{{"pods", std::move(list)}}.dump() + "\n");
}

}  // namespace lmesh::destination
