#include "proxy/admin/admin_server.h"

#include <spdlog/spdlog.h>

#include "common/http/h1/encoder.h"
#include "common/http/h1/parser.h"
#include "common/metrics/prometheus_text.h"
#include "common/net/tcp_connection.h"

namespace lmesh::proxy {
namespace h1 = http::h1;

namespace {
constexpr size_t kMaxAdminHeadBytes = 16 * 1024;
}  // namespace

// One client of the admin server: requests answered one at a time, keep-alive honoured.
class AdminConnection final : public event::DeferredDeletable,
                              private net::TcpConnection::Handler,
                              private h1::Parser::Handler {
 public:
  AdminConnection(AdminServer& server, uint64_t id)
      : server_(server),
        id_(id),
        tcp_(server.control_, *this),
        parser_(h1::Parser::Kind::kRequest, *this, kMaxAdminHeadBytes),
        pending_(server.control_.chunks()) {}

  void accept(uv_stream_t* listener) {
    if (!tcp_.accept(listener)) {
      close();
      return;
    }
    tcp_.read_start();
  }

  void close() {
    if (closing_) return;
    closing_ = true;
    tcp_.close(net::CloseMode::kFlush);
  }

  // Answers the request in flight.
  void reply(int status, std::string_view content_type, std::string_view body) {
    buffer::Buffer out(server_.control_.chunks());
    h1::append_status_line(out, static_cast<uint16_t>(status),
                           h1::reason_phrase(static_cast<uint16_t>(status)));
    h1::append_field(out, "Content-Type", content_type);
    h1::append_content_length(out, body.size());
    if (!keep_alive_) h1::append_field(out, "Connection", "close");
    h1::end_head(out);
    if (!head_request_) out.append(body);
    tcp_.write(out);
    busy_ = false;
    if (!keep_alive_) {
      close();
    } else if (!dispatching_) {
      process();  // an asynchronous reply: requests behind it may wait in pending_
    }
  }

 private:
  void on_read(buffer::Slice data) override {
    pending_.append(std::move(data));
    process();
  }

  void process() {
    while (!pending_.empty() && !busy_ && !closing_) {
      auto [consumed, outcome] = parser_.feed(pending_.slice(0));
      pending_.drain(consumed);
      if (outcome == h1::Parser::Outcome::kError || outcome == h1::Parser::Outcome::kUpgrade) {
        keep_alive_ = false;
        reply(400, "text/plain", "bad request\n");
        return;
      }
      if (outcome == h1::Parser::Outcome::kMessageComplete) {
        parser_.resume();
        dispatching_ = true;
        dispatch();
        dispatching_ = false;
      }
    }
    // Leave later requests in the socket until this one is answered.
    if (busy_) {
      tcp_.read_stop();
    } else if (!closing_) {
      tcp_.read_start();
    }
  }

  void on_head() override {}
  void on_body(buffer::Slice) override {}
  void on_message_complete() override {}

  void dispatch() {
    const http::RequestHead& req = parser_.request();
    busy_ = true;
    keep_alive_ = req.keep_alive;
    head_request_ = req.method == "HEAD";
    std::string_view path = req.target;
    path = path.substr(0, path.find('?'));
    if (req.method != "GET" && req.method != "HEAD") {
      reply(405, "text/plain", "method not allowed\n");
    } else if (path == "/live") {
      reply(200, "text/plain", "live\n");
    } else if (path == "/ready") {
      bool ready = server_.ready_();
      reply(ready ? 200 : 503, "text/plain", ready ? "ready\n" : "not ready\n");
    } else if (path == "/metrics") {
      AdminServer* server = &server_;
      uint64_t id = id_;
      server_.metrics_([server, id](std::string text) {
        // The client may have gone while the workers answered.
        auto it = server->connections_.find(id);
        if (it != server->connections_.end()) {
          it->second->reply(200, metrics::kPrometheusTextContentType, text);
        }
      });
    } else {
      reply(404, "text/plain", "not found\n");
    }
  }

  void on_eof() override { close(); }
  void on_error(const Error&) override { close(); }
  void on_closed() override {
    server_.forget(id_);
    server_.control_.defer_delete(std::unique_ptr<event::DeferredDeletable>(this));
  }

  AdminServer& server_;
  uint64_t id_;
  net::TcpConnection tcp_;
  h1::Parser parser_;
  buffer::Buffer pending_;
  bool busy_ = false;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool closing_ = false;
  bool dispatching_ = false;
};

AdminServer::AdminServer(event::Worker& control, ReadyFn ready, MetricsFn metrics)
    : control_(control), ready_(std::move(ready)), metrics_(std::move(metrics)) {}

AdminServer::~AdminServer() = default;

Result<net::SocketAddress> AdminServer::listen(const net::SocketAddress& address) {
  listener_ =
      std::make_unique<net::Listener>(control_.loop(), [this](uv_stream_t* s) { on_accept(s); });
  if (auto ok = listener_->listen(address, /*reuse_port=*/false); !ok) {
    return fail(Error::wrap(ok.error(), "admin listener"));
  }
  return listener_->local_address();
}

void AdminServer::on_accept(uv_stream_t* server) {
  uint64_t id = next_id_++;
  auto* conn = new AdminConnection(*this, id);
  connections_[id] = conn;
  conn->accept(server);
}

void AdminServer::forget(uint64_t id) {
  connections_.erase(id);
}

void AdminServer::close() {
  if (listener_) listener_->close();
  std::vector<AdminConnection*> conns;
  for (auto& [id, c] : connections_) conns.push_back(c);
  for (AdminConnection* c : conns) c->close();
}

}  // namespace lmesh::proxy
