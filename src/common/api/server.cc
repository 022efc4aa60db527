#include "common/api/server.h"

#include <spdlog/spdlog.h>

#include "common/api/detector.h"

namespace lmesh::api {

Server::Server(event::Worker& worker, ServerOptions options) : worker_(worker), options_(options) {}

Server::~Server() {
  close();
}

void Server::route(std::string method, std::string path, Handler handler) {
  routes_[std::move(path)][std::move(method)] = std::move(handler);
}

Result<net::SocketAddress> Server::listen(const net::SocketAddress& address) {
  listener_ =
      std::make_unique<net::Listener>(worker_.loop(), [this](uv_stream_t* s) { on_accept(s); });
  if (auto ok = listener_->listen(address, /*reuse_port=*/false); !ok) return fail(ok.error());
  return listener_->local_address();
}

void Server::on_accept(uv_stream_t* listener) {
  uint64_t id = next_id_++;
  auto* conn = new Detector(*this, id);
  connections_[id] = conn;
  conn->accept(listener);
}

void Server::forget(uint64_t connection_id) {
  connections_.erase(connection_id);
}

void Server::replace(uint64_t connection_id, Connection* next) {
  connections_[connection_id] = next;
}

void Server::close() {
  if (listener_) listener_->close();
  std::vector<Connection*> open;
  open.reserve(connections_.size());
  for (auto& [id, c] : connections_) open.push_back(c);
  for (Connection* c : open) c->close(net::CloseMode::kFlush);
}

void Server::dispatch(const Request& request, std::shared_ptr<Response> response) const {
  auto path = routes_.find(request.path);
  if (path == routes_.end()) {
    response->error(404, "not found", "no endpoint " + request.path);
    return;
  }
  // HEAD is answered by the GET handler; the response leaves the body out.
  auto handler = path->second.find(request.method == "HEAD" ? std::string("GET") : request.method);
  if (handler == path->second.end()) {
    response->error(405, "method not allowed",
                    request.method + " is not allowed on " + request.path);
    return;
  }
  handler->second(request, std::move(response));
}

}  // namespace lmesh::api
