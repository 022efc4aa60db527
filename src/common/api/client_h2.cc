#include "common/api/client_h2.h"

namespace lmesh::api {
namespace h2 = http::h2;

// One call or watch on the shared connection. It frees itself after its last event (or its
// cancel()), once the stream no longer points at it.
class H2Transport::H2Exchange final : public ClientExchange, public event::DeferredDeletable {
 public:
  H2Exchange(H2Transport& transport, Events events, bool stream)
      : transport_(&transport),
        worker_(transport.worker_),
        events_(std::move(events)),
        stream_(stream),
        deadline_(worker_.loop(), [this] { on_deadline(); }) {}

  void open(const Request& request) {
    http::RequestHead head;
    head.method = request.method;
    head.target = request.target;
    head.authority = transport_->client_.server().to_string();
    head.scheme = "http";
    head.headers.add("accept", "application/json, application/x-ndjson");
    for (const auto& [name, value] : request.headers) head.headers.add(name, value);
    bool has_body = !request.body.empty() || request.method == "POST" || request.method == "PUT";
    if (has_body) {
      head.headers.add("content-type", "application/json");
      head.headers.add("content-length", std::to_string(request.body.size()));
    }
    auto stream = transport_->session_->submit_request(head, request.body.empty());
    if (!stream) {
      // Told on a later turn, like every other outcome.
      pending_ = stream.error();
      deadline_.set(std::chrono::milliseconds(1));
      return;
    }
    stream_ptr_ = *stream;
    stream_ptr_->set_context(this);
    if (!request.body.empty()) {
      buffer::Buffer body(worker_.chunks());
      body.append(request.body);
      (void)transport_->session_->send_data(*stream_ptr_, std::move(body), true);
    }
    transport_->schedule_flush();
    deadline_.set(transport_->client_.options().request_timeout);
  }

  void cancel() override {
    events_ = Events{};
    if (stream_ptr_ != nullptr && transport_ != nullptr && !transport_->closing_) {
      transport_->session_->reset(*stream_ptr_, h2::Http2ErrorCode::kCancel);
      transport_->schedule_flush();
    }
    finish();
  }

  // From the transport.
  void head(const http::ResponseHead& head) {
    if (head.informational()) return;
    if (stream_) deadline_.clear();  // a stream may stay quiet while there is no news
    if (events_.head) events_.head(head);
  }
  void data(buffer::Slice bytes) {
    size_t n = bytes.size();
    if (events_.body) events_.body(std::move(bytes));
    // Bodies are taken whole (or line by line): the window reopens at once.
    if (stream_ptr_ != nullptr && transport_ != nullptr) {
      transport_->session_->consume(*stream_ptr_, n);
      transport_->schedule_flush();
    }
  }
  void ended() {
    auto complete = std::move(events_.complete);
    finish();
    if (complete) complete();
  }
  void failed(Error why) {
    auto failed = std::move(events_.failed);
    finish();
    if (failed) failed(std::move(why));
  }

 private:
  void on_deadline() {
    if (pending_) {
      failed(*std::exchange(pending_, std::nullopt));
      return;
    }
    if (stream_ptr_ != nullptr && transport_ != nullptr && !transport_->closing_) {
      transport_->session_->reset(*stream_ptr_, h2::Http2ErrorCode::kCancel);
      transport_->schedule_flush();
    }
    failed(Error(ErrorCode::kTimeout, "no answer in time"));
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    events_ = Events{};
    deadline_.clear();
    if (stream_ptr_ != nullptr) stream_ptr_->set_context(nullptr);
    stream_ptr_ = nullptr;
    transport_ = nullptr;
    worker_.defer_delete(std::unique_ptr<event::DeferredDeletable>(this));
  }

  H2Transport* transport_;
  event::Worker& worker_;
  Events events_;
  bool stream_;
  event::Deadline deadline_;
  h2::Stream* stream_ptr_ = nullptr;
  std::optional<Error> pending_;
  bool finished_ = false;
};

H2Transport::H2Transport(Client& client, std::function<void(H2Transport*)> gone)
    : client_(client),
      worker_(client.worker()),
      gone_(std::move(gone)),
      tcp_(client.worker(), static_cast<net::TcpConnection::Handler&>(*this)),
      connect_deadline_(client.worker().loop(), [this] {
        fail(failure_.value_or(Error(ErrorCode::kTimeout, "connect timed out")));
      }) {
  connect();
}

H2Transport::~H2Transport() = default;

void H2Transport::connect() {
  auto session = h2::ClientSession::create(*this, worker_.chunks(), worker_.blocks());
  if (!session) {
    failure_ = session.error();
    connect_deadline_.set(std::chrono::milliseconds(1));
    return;
  }
  session_ = std::move(*session);
  auto ok = client_.secure(tcp_);
  if (ok) ok = tcp_.connect(client_.server());
  if (!ok) {
    failure_ = ok.error();  // told on a later turn
    connect_deadline_.set(std::chrono::milliseconds(1));
    return;
  }
  connect_deadline_.set(client_.options().connect_timeout);
  tcp_.read_start();
  schedule_flush();  // the preface, queued behind the connect
}

bool H2Transport::usable() const {
  return !retired_ && !closing_ && session_ != nullptr && session_->can_submit_request();
}

ClientExchange* H2Transport::start(const ClientExchange::Request& request,
                                   ClientExchange::Events events) {
  auto* e = new H2Exchange(*this, std::move(events), request.stream);
  e->open(request);
  return e;
}

void H2Transport::retire() {
  if (retired_) return;
  retired_ = true;
  if (auto gone = std::move(gone_)) gone(this);
}

void H2Transport::fail(const Error& why) {
  if (!failure_) failure_ = why;
  close();
}

void H2Transport::close() {
  if (closing_) return;
  retire();
  closing_ = true;
  connect_deadline_.clear();
  if (session_ != nullptr) session_->abandon();  // open streams fail with failure_
  tcp_.close(net::CloseMode::kNoFlush);
}

void H2Transport::on_connected() {
  connect_deadline_.clear();
  schedule_flush();
}

void H2Transport::on_read(buffer::Slice data) {
  if (closing_) return;
  if (!session_->feed(data)) tcp_.read_stop();
  schedule_flush();
}

void H2Transport::on_eof() {
  fail(Error(ErrorCode::kClosed, "server closed the connection"));
}

void H2Transport::on_error(const Error& error) {
  fail(error);
}

void H2Transport::on_closed() {
  worker_.defer_delete(std::unique_ptr<event::DeferredDeletable>(this));
}

void H2Transport::schedule_flush() {
  if (!closing_) worker_.at_batch_end(*this);
}

void H2Transport::on_batch_end() {
  if (closing_ || session_ == nullptr) return;
  buffer::Buffer out(worker_.chunks());
  session_->produce(out);
  if (!out.empty()) tcp_.write(out);
  if (session_->failed() || (!session_->want_read() && !session_->want_write())) {
    fail(Error(ErrorCode::kClosed, "connection ended"));
  } else if (retired_ && session_->stream_count() == 0) {
    close();  // after GOAWAY, once the last stream is done
  }
}

void H2Transport::on_response_head(h2::Stream& stream, bool) {
  if (H2Exchange* e = exchange(stream)) e->head(stream.response());
}

void H2Transport::on_data(h2::Stream& stream, buffer::Slice data) {
  if (H2Exchange* e = exchange(stream)) {
    e->data(std::move(data));
  } else {
    session_->consume(stream, data.size());
  }
}

void H2Transport::on_stream_end(h2::Stream& stream) {
  if (H2Exchange* e = exchange(stream)) e->ended();
}

void H2Transport::on_stream_reset(h2::Stream& stream, h2::Http2ErrorCode code,
                                  h2::ResetOrigin origin) {
  H2Exchange* e = exchange(stream);
  if (e == nullptr) return;
  if (origin == h2::ResetOrigin::kConnection && failure_) {
    e->failed(*failure_);
  } else {
    e->failed(Error(ErrorCode::kClosed, "stream reset (" + std::string(to_string(code)) + ", " +
                                            std::string(to_string(origin)) + ")"));
  }
}

void H2Transport::on_stream_closed(h2::Stream& stream) {
  session_->consume(stream.id(), stream.unconsumed_bytes());
  if (H2Exchange* e = exchange(stream)) e->failed(Error(ErrorCode::kClosed, "stream closed"));
  if (retired_) schedule_flush();
}

void H2Transport::on_goaway(h2::StreamId, h2::Http2ErrorCode, std::string_view) {
  retire();  // the next request opens a new connection; open streams may finish here
}

void H2Transport::on_connection_error(const h2::ConnectionError& error) {
  failure_ = error.to_error();
  retire();
  schedule_flush();  // the GOAWAY, then the batch end closes
}

}  // namespace lmesh::api
