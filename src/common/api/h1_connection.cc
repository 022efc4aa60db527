#include "common/api/h1_connection.h"

#include <spdlog/spdlog.h>

#include "common/http/h1/encoder.h"
#include "common/tls/session.h"

namespace lmesh::api {
namespace h1 = http::h1;

// The Response of one request on an H1Connection. It may outlive the connection (a handler
// keeps a stream); `conn_` is cleared when the connection closes.
class H1Connection::H1Response final : public Response {
 public:
  H1Response(H1Connection& conn, bool http11, bool keep_alive, bool head_request)
      : conn_(&conn), http11_(http11), keep_alive_(keep_alive), head_request_(head_request) {}

  void send(int status, std::string_view content_type, std::string body) override {
    if (conn_ == nullptr || head_sent_) return;
    buffer::Buffer out(conn_->server_.worker().chunks());
    head(out, status, content_type);
    h1::append_content_length(out, body.size());
    finish_head(out);
    if (!head_request_) out.append(body);
    conn_->write(out);
    end();
  }

  void begin_stream(int status, std::string_view content_type) override {
    if (conn_ == nullptr || head_sent_) return;
    buffer::Buffer out(conn_->server_.worker().chunks());
    // An HTTP/1.0 client cannot take chunks: its stream ends when the connection does.
    if (!http11_) keep_alive_ = false;
    head(out, status, content_type);
    if (http11_) h1::append_field(out, "Transfer-Encoding", "chunked");
    finish_head(out);
    conn_->write(out);
    streaming_ = true;
  }

  void send_line(std::string line) override {
    if (conn_ == nullptr || !streaming_ || ended_ || overflowed_) return;
    line += '\n';
    buffer::Buffer out(conn_->server_.worker().chunks());
    if (http11_) {
      buffer::Buffer payload(conn_->server_.worker().chunks());
      payload.append(line);
      for (size_t i = 0; i < payload.slice_count(); ++i) {
        h1::append_chunk(out, payload.slice(i).share());
      }
    } else {
      out.append(line);
    }
    conn_->write(out);
    if (conn_->tcp_->write_queue_bytes() > conn_->server_.options().max_stream_backlog) {
      spdlog::warn("api: stream to {} stopped reading ({} bytes unsent); closing it",
                   conn_->tcp_->peer().to_string(), conn_->tcp_->write_queue_bytes());
      overflowed_ = true;
      // On the next loop turn: the handler hears on_close then, not from inside its own send.
      conn_->overflow_close_.arm(std::chrono::milliseconds(0));
    }
  }

  void end_stream() override {
    if (conn_ == nullptr || !streaming_ || ended_ || overflowed_) return;
    if (http11_) {
      buffer::Buffer out(conn_->server_.worker().chunks());
      h1::append_last_chunk(out, http::HeaderMap());
      conn_->write(out);
    }
    end();
  }

  bool open() const override { return conn_ != nullptr && !ended_ && !overflowed_; }
  size_t backlog() const override {
    return conn_ == nullptr ? 0 : conn_->tcp_->write_queue_bytes();
  }
  bool streaming() const { return streaming_ && !ended_; }

  // The connection is going away.
  void connection_closed() {
    conn_ = nullptr;
    client_gone(ended_);
  }

 private:
  void head(buffer::Buffer& out, int status, std::string_view content_type) {
    head_sent_ = true;
    auto code = static_cast<uint16_t>(status);
    h1::append_status_line(out, code, h1::reason_phrase(code));
    h1::append_field(out, "Content-Type", content_type);
  }
  void finish_head(buffer::Buffer& out) {
    if (!keep_alive_) h1::append_field(out, "Connection", "close");
    h1::end_head(out);
  }
  void end() {
    ended_ = true;
    H1Connection* conn = conn_;
    if (conn != nullptr) conn->response_done(keep_alive_);
  }

  H1Connection* conn_;
  bool http11_;
  bool keep_alive_;
  bool head_request_;
  bool head_sent_ = false;
  bool overflowed_ = false;  // the client stopped reading: closing
  bool streaming_ = false;
  bool ended_ = false;
};

H1Connection::H1Connection(Server& server, uint64_t id, std::unique_ptr<net::TcpConnection> tcp,
                           buffer::Buffer initial)
    : server_(server),
      id_(id),
      tcp_(std::move(tcp)),
      parser_(h1::Parser::Kind::kRequest, *this, server.options().max_head_bytes),
      pending_(std::move(initial)),
      idle_(server.worker().loop(), [this] { close(net::CloseMode::kFlush); }),
      overflow_close_(server.worker().loop(), [this] { close(net::CloseMode::kAbort); }) {
  tcp_->set_handler(*this);
  // The handshake (if any) is over by now: the detector saw plaintext.
  peer_identity_ = tls::peer_identity(tcp_->transport_layer()).value_or("");
}

void H1Connection::start() {
  idle_.set(server_.options().idle_timeout);
  process();
}

H1Connection::~H1Connection() = default;

void H1Connection::on_read(buffer::Slice data) {
  pending_.append(std::move(data));
  process();
}

void H1Connection::process() {
  while (!pending_.empty() && current_ == nullptr && !closing_) {
    auto [consumed, outcome] = parser_.feed(pending_.slice(0));
    pending_.drain(consumed);
    if (outcome == h1::Parser::Outcome::kError) {
      if (parser_.error() == h1::Parser::Error::kHeadTooLarge) {
        reject(431, "request header too large", parser_.error_reason());
      } else {
        reject(400, "bad request", parser_.error_reason());
      }
      return;
    }
    if (outcome == h1::Parser::Outcome::kUpgrade) {
      reject(400, "bad request", "protocol upgrades are not supported here");
      return;
    }
    if (outcome == h1::Parser::Outcome::kMessageComplete) {
      parser_.resume();
      dispatch();
    }
  }
  // While a response is in progress, one read's worth of the next request may wait; more is
  // left in the socket. Reading on otherwise notices a client that goes away mid-stream.
  if (closing_) return;
  if (pending_.empty()) {
    tcp_->read_start();
  } else {
    tcp_->read_stop();
  }
}

void H1Connection::on_head() {
  idle_.clear();
  body_.clear();
  body_too_large_ = false;
  const http::RequestHead& req = parser_.request();
  if (req.framing == http::BodyFraming::kContentLength &&
      req.content_length > server_.options().max_body_bytes) {
    body_too_large_ = true;
  }
}

void H1Connection::on_body(buffer::Slice data) {
  if (body_.size() + data.size() > server_.options().max_body_bytes) {
    body_too_large_ = true;
    return;
  }
  body_.append(data.view());
}

void H1Connection::dispatch() {
  const http::RequestHead& req = parser_.request();
  bool http11 = req.version_major == 1 && req.version_minor >= 1;
  // An oversized body is not read to its end: the connection closes after the 413.
  current_ = std::make_shared<H1Response>(*this, http11, req.keep_alive && !body_too_large_,
                                          req.method == "HEAD");
  std::shared_ptr<Response> response = current_;
  dispatching_ = true;
  if (body_too_large_) {
    // The rest of an oversized body is not worth reading: answer and close.
    if (server_.options().on_body_too_large) server_.options().on_body_too_large(req.target);
    current_->error(
        413, "request too large",
        "bodies are limited to " + std::to_string(server_.options().max_body_bytes) + " bytes");
    close(net::CloseMode::kFlush);
  } else if (auto target = split_target(req.target); !target) {
    response->error(400, "bad request", target.error().describe());
  } else {
    Request request;
    request.method = req.method;
    request.path = std::move(target->first);
    request.query = std::move(target->second);
    request.headers = &req.headers;
    request.body = std::move(body_);
    request.peer = tcp_->peer();
    request.peer_identity = peer_identity_;
    server_.dispatch(request, std::move(response));
  }
  dispatching_ = false;
  // Answered at once: go on with what is pending (the caller's loop does).
  if (current_ == nullptr && !closing_) idle_.set(server_.options().idle_timeout);
}

void H1Connection::response_done(bool keep_alive) {
  current_ = nullptr;
  if (!keep_alive) {
    close(net::CloseMode::kFlush);
    return;
  }
  // A response finished later (a stream, a reply from another thread): serve what waits.
  if (!dispatching_) {
    idle_.set(server_.options().idle_timeout);
    process();
  }
}

void H1Connection::reject(int status, std::string_view error, std::string_view detail) {
  auto response = std::make_shared<H1Response>(*this, true, false, false);
  current_ = response;
  response->error(status, error, detail);
  close(net::CloseMode::kFlush);
}

void H1Connection::on_eof() {
  // A client that half-closes after its request still gets its answer; but a stream has no end
  // to wait for, so a client that closes while watching is gone.
  if (current_ == nullptr || current_->streaming()) close(net::CloseMode::kFlush);
}

void H1Connection::on_error(const Error& error) {
  spdlog::debug("api connection from {} failed: {}", tcp_->peer().to_string(), error.describe());
  close(net::CloseMode::kNoFlush);
}

void H1Connection::close(net::CloseMode mode) {
  if (closing_) return;
  closing_ = true;
  idle_.clear();
  if (current_ != nullptr) std::exchange(current_, nullptr)->connection_closed();
  tcp_->close(mode);
}

void H1Connection::on_closed() {
  server_.forget(id_);
  server_.worker().defer_delete(std::unique_ptr<event::DeferredDeletable>(this));
}

}  // namespace lmesh::api
