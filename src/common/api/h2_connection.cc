#include "common/api/h2_connection.h"

#include <spdlog/spdlog.h>

#include "common/tls/session.h"

namespace lmesh::api {
namespace h2 = http::h2;

// The Response of one stream. It may outlive the stream or the connection (a handler keeps a
// stream open); `conn_` is cleared when either ends.
class H2Connection::H2Response final : public Response {
 public:
  H2Response(H2Connection& conn, h2::StreamId id, bool head_request)
      : conn_(&conn), id_(id), head_request_(head_request) {}

  void send(int status, std::string_view content_type, std::string body) override {
    h2::Stream* s = stream();
    if (s == nullptr || head_sent_) return;
    head_sent_ = true;
    ended_ = true;
    bool empty = body.empty() || head_request_;
    http::ResponseHead head = make_head(status, content_type);
    head.headers.add("content-length", std::to_string(body.size()));
    if (!conn_->session_->submit_response(*s, head, empty)) return;
    if (!empty) {
      buffer::Buffer data(conn_->server_.worker().chunks());
      data.append(body);
      (void)conn_->session_->send_data(*s, std::move(data), true);
    }
    conn_->schedule_flush();
  }

  void begin_stream(int status, std::string_view content_type) override {
    h2::Stream* s = stream();
    if (s == nullptr || head_sent_) return;
    head_sent_ = true;
    streaming_ = true;
    (void)conn_->session_->submit_response(*s, make_head(status, content_type), false);
    conn_->schedule_flush();
  }

  void send_line(std::string line) override {
    h2::Stream* s = stream();
    if (s == nullptr || !streaming_ || ended_ || overflowed_) return;
    line += '\n';
    buffer::Buffer data(conn_->server_.worker().chunks());
    data.append(line);
    (void)conn_->session_->send_data(*s, std::move(data), false);
    if (s->queued_bytes() > conn_->server_.options().max_stream_backlog) {
      spdlog::warn("api: stream {} of {} stopped reading ({} bytes unsent); resetting it", id_,
                   conn_->tcp_->peer().to_string(), s->queued_bytes());
      overflowed_ = true;  // not ended: the handler hears on_close once the reset is out
      conn_->session_->reset(*s, h2::Http2ErrorCode::kEnhanceYourCalm);
    }
    conn_->schedule_flush();
  }

  void end_stream() override {
    h2::Stream* s = stream();
    if (s == nullptr || !streaming_ || ended_ || overflowed_) return;
    ended_ = true;
    (void)conn_->session_->send_data(*s, buffer::Buffer(conn_->server_.worker().chunks()), true);
    conn_->schedule_flush();
  }

  bool open() const override { return conn_ != nullptr && !ended_ && !overflowed_; }
  size_t backlog() const override {
    h2::Stream* s = stream();
    return s == nullptr ? 0 : s->queued_bytes();
  }

  // The stream is over (finished, reset by the client, or the connection went away).
  void stream_closed() {
    conn_ = nullptr;
    client_gone(ended_);
  }

 private:
  h2::Stream* stream() const {
    return conn_ == nullptr || conn_->closing_ ? nullptr : conn_->session_->find_stream(id_);
  }
  static http::ResponseHead make_head(int status, std::string_view content_type) {
    http::ResponseHead head;
    head.status = static_cast<uint16_t>(status);
    head.headers.add("content-type", content_type);
    return head;
  }

  H2Connection* conn_;
  h2::StreamId id_;
  bool head_request_;
  bool head_sent_ = false;
  bool overflowed_ = false;  // the client stopped reading: reset
  bool streaming_ = false;
  bool ended_ = false;
};

H2Connection::H2Connection(Server& server, uint64_t id, std::unique_ptr<net::TcpConnection> tcp,
                           buffer::Buffer initial)
    : server_(server),
      id_(id),
      tcp_(std::move(tcp)),
      initial_(std::move(initial)),
      idle_(server.worker().loop(), [this] { close(net::CloseMode::kFlush); }) {
  tcp_->set_handler(*this);
  // The handshake (if any) is over by now: the detector saw plaintext.
  peer_identity_ = tls::peer_identity(tcp_->transport_layer()).value_or("");
}

H2Connection::~H2Connection() = default;

void H2Connection::start() {
  h2::SessionConfig config;
  config.max_header_list_size = static_cast<uint32_t>(server_.options().max_head_bytes);
  config.max_concurrent_streams = server_.options().max_concurrent_streams;
  auto session = h2::ServerSession::create(*this, server_.worker().chunks(),
                                           server_.worker().blocks(), config);
  if (!session) {
    spdlog::warn("api: cannot start an HTTP/2 session: {}", session.error().describe());
    close(net::CloseMode::kNoFlush);
    return;
  }
  session_ = std::move(*session);
  update_idle();
  for (size_t i = 0; i < initial_.slice_count() && !closing_; ++i) {
    if (!session_->feed(initial_.slice(i))) break;
  }
  initial_.clear();
  schedule_flush();
  if (!closing_) tcp_->read_start();
}

void H2Connection::on_read(buffer::Slice data) {
  if (closing_) return;
  if (!session_->feed(data)) tcp_->read_stop();  // the GOAWAY goes out at the batch end
  schedule_flush();
}

void H2Connection::schedule_flush() {
  if (!closing_) server_.worker().at_batch_end(*this);
}

void H2Connection::on_batch_end() {
  if (closing_ || session_ == nullptr) return;
  buffer::Buffer out(server_.worker().chunks());
  session_->produce(out);
  tcp_->write(out);
  if (!session_->want_read() && !session_->want_write()) {
    session_->abandon();
    close(net::CloseMode::kFlush);
  }
}

void H2Connection::on_request_head(h2::Stream& stream, bool) {
  // With or without a body, the session calls on_stream_end() when the request is complete.
  Request& req = requests_[stream.id()];
  req.response =
      std::make_shared<H2Response>(*this, stream.id(), stream.request().method == "HEAD");
  update_idle();
}

void H2Connection::on_data(h2::Stream& stream, buffer::Slice data) {
  // Bodies are collected whole, so they can be acknowledged at once.
  session_->consume(stream, data.size());
  auto it = requests_.find(stream.id());
  if (it == requests_.end()) return;
  Request& req = it->second;
  if (req.body.size() + data.size() > server_.options().max_body_bytes) {
    req.too_large = true;
    return;
  }
  req.body.append(data.view());
}

void H2Connection::on_stream_end(h2::Stream& stream) {
  auto it = requests_.find(stream.id());
  if (it == requests_.end() || it->second.response == nullptr) return;
  dispatch(stream, it->second);
}

void H2Connection::dispatch(h2::Stream& stream, Request& request) {
  std::shared_ptr<Response> response = request.response;
  if (request.too_large) {
    if (server_.options().on_body_too_large) {
      server_.options().on_body_too_large(stream.request().target);
    }
    response->error(
        413, "request too large",
        "bodies are limited to " + std::to_string(server_.options().max_body_bytes) + " bytes");
    return;
  }
  const http::RequestHead& head = stream.request();
  auto target = split_target(head.target);
  if (!target) {
    response->error(400, "bad request", target.error().describe());
    return;
  }
  api::Request req;
  req.method = head.method;
  req.path = std::move(target->first);
  req.query = std::move(target->second);
  req.headers = &head.headers;
  req.body = std::move(request.body);
  req.peer = tcp_->peer();
  req.peer_identity = peer_identity_;
  server_.dispatch(req, std::move(response));
}

void H2Connection::on_stream_closed(h2::Stream& stream) {
  auto it = requests_.find(stream.id());
  if (it == requests_.end()) return;
  std::shared_ptr<H2Response> response = std::move(it->second.response);
  requests_.erase(it);
  if (response) response->stream_closed();
  update_idle();
}

void H2Connection::on_connection_error(const h2::ConnectionError& error) {
  spdlog::debug("api: HTTP/2 connection from {} failed: {}", tcp_->peer().to_string(),
                error.reason);
  schedule_flush();  // the GOAWAY, then the batch end closes
}

void H2Connection::update_idle() {
  if (requests_.empty()) {
    idle_.set(server_.options().idle_timeout);
  } else {
    idle_.clear();
  }
}

void H2Connection::on_eof() {
  if (session_) session_->abandon();
  close(net::CloseMode::kFlush);
}

void H2Connection::on_error(const Error& error) {
  spdlog::debug("api: connection from {} failed: {}", tcp_->peer().to_string(), error.describe());
  if (session_) session_->abandon();
  close(net::CloseMode::kNoFlush);
}

void H2Connection::close(net::CloseMode mode) {
  if (closing_) return;
  if (session_ != nullptr && mode == net::CloseMode::kFlush && !session_->failed()) {
    // Tell the client it is over (GOAWAY) before the socket goes.
    session_->terminate(h2::Http2ErrorCode::kNoError);
    buffer::Buffer out(server_.worker().chunks());
    session_->produce(out);
    tcp_->write(out);
  }
  closing_ = true;
  idle_.clear();
  if (session_ != nullptr) session_->abandon();  // open streams' responses hear on_close
  tcp_->close(mode);
}

void H2Connection::on_closed() {
  server_.forget(id_);
  server_.worker().defer_delete(std::unique_ptr<event::DeferredDeletable>(this));
}

}  // namespace lmesh::api
