#include "common/api/client.h"

#include "common/tls/session.h"

#include "common/api/client_exchange.h"
#include "common/api/client_h2.h"

#include <algorithm>

#include "common/buffer/buffer.h"
#include "common/event/deadline.h"
#include "common/event/timer.h"
#include "common/http/h1/encoder.h"
#include "common/http/h1/parser.h"
#include "common/net/tcp_connection.h"

namespace lmesh::api {
namespace h1 = http::h1;

namespace {

constexpr size_t kMaxResponseHeadBytes = 64 << 10;

std::string request_bytes(const Client& client, const ExchangeRequest& request);

// One HTTP/1.1 request on its own connection. It frees itself once its socket has closed, so
// its owner never waits: after the final event (complete or failed) or after cancel(), the
// owner forgets the pointer.
class H1Exchange final : public ClientExchange,
                         public event::DeferredDeletable,
                         private net::TcpConnection::Handler,
                         private h1::Parser::Handler {
 public:
  static H1Exchange* start(Client& client, const Request& request, Events events) {
    auto* e = new H1Exchange(client, request.stream, std::move(events));
    e->begin(request_bytes(client, request));
    return e;
  }

  // No event after this; the exchange closes and frees itself.
  void cancel() override {
    events_ = Events{};
    close();
  }

 private:
  H1Exchange(Client& client, bool stream, Events events)
      : client_(client),
        worker_(client.worker()),
        stream_(stream),
        events_(std::move(events)),
        tcp_(client.worker(), static_cast<net::TcpConnection::Handler&>(*this)),
        parser_(h1::Parser::Kind::kResponse, *this, kMaxResponseHeadBytes),
        deadline_(client.worker().loop(), [this] {
          fail(Error(ErrorCode::kTimeout, connected_ ? "no answer in time" : "connect timed out"));
        }) {}

  void begin(std::string_view request) {
    auto ok = client_.secure(tcp_);
    if (ok) ok = tcp_.connect(client_.server());
    if (!ok) {
      // Reported on a later turn, like every other outcome.
      pending_error_ = ok.error();
      deadline_.set(std::chrono::milliseconds(1));
      return;
    }
    deadline_.set(client_.options().connect_timeout);
    tcp_.write(request);
    tcp_.read_start();
  }

  void on_connected() override {
    connected_ = true;
    deadline_.set(client_.options().request_timeout);
  }

  void on_read(buffer::Slice data) override {
    while (!data.empty() && !closing_) {
      auto [consumed, outcome] = parser_.feed(data);
      data.remove_prefix(consumed);
      if (outcome == h1::Parser::Outcome::kError || outcome == h1::Parser::Outcome::kUpgrade) {
        fail(Error(ErrorCode::kProtocol, "malformed response: " + parser_.error_reason()));
        return;
      }
      if (outcome == h1::Parser::Outcome::kNeedMore) return;
      parser_.resume();  // an informational response ended; the final one follows
      if (done_) {
        succeed();
        return;
      }
    }
  }

  void on_eof() override {
    if (parser_.finish() == h1::Parser::Outcome::kMessageComplete && done_) {
      succeed();
    } else {
      fail(Error(ErrorCode::kClosed, "server closed the connection"));
    }
  }

  void on_error(const Error& error) override { fail(error); }

  void on_closed() override {
    // Not through client_: a cancelled exchange may finish closing after its Client is gone.
    worker_.defer_delete(std::unique_ptr<event::DeferredDeletable>(this));
  }

  void on_head() override {
    const http::ResponseHead& head = parser_.response();
    if (head.informational()) return;
    // A stream may stay quiet for as long as there is no news.
    if (stream_) deadline_.clear();
    if (events_.head) events_.head(head);
  }

  void on_body(buffer::Slice data) override {
    if (events_.body) events_.body(std::move(data));
  }

  void on_message_complete() override {
    if (!parser_.response().informational()) done_ = true;
  }

  void succeed() {
    auto complete = std::move(events_.complete);
    events_ = Events{};
    close();
    if (complete) complete();
  }

  void fail(Error why) {
    if (pending_error_)
      why = Error::wrap(*std::exchange(pending_error_, std::nullopt), why.message());
    auto failed = std::move(events_.failed);
    events_ = Events{};
    close();
    if (failed) failed(std::move(why));
  }

  void close() {
    if (closing_) return;
    closing_ = true;
    deadline_.clear();
    tcp_.close(net::CloseMode::kNoFlush);
  }

  Client& client_;  // only until the final event or cancel(): the Client may go after those
  event::Worker& worker_;
  bool stream_;
  Events events_;
  net::TcpConnection tcp_;
  h1::Parser parser_;
  event::Deadline deadline_;
  std::optional<Error> pending_error_;
  bool connected_ = false;
  bool done_ = false;
  bool closing_ = false;
};

}  // namespace

namespace {

std::string request_bytes(const Client& client, const ExchangeRequest& request) {
  std::string_view method = request.method;
  std::string_view target = request.target;
  std::string_view body = request.body;
  std::string out;
  out.reserve(128 + target.size() + body.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  out.append("Host: ").append(client.server().to_string()).append("\r\n");
  out.append("Accept: application/json, application/x-ndjson\r\n");
  for (const auto& [name, value] : request.headers) {
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!body.empty() || method == "POST" || method == "PUT") {
    out.append("Content-Type: application/json\r\n");
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  out.append("\r\n").append(body);
  return out;
}

}  // namespace

class CallImpl final : public Call {
 public:
  CallImpl(Client& client, const ExchangeRequest& request,
           std::function<void(Result<ClientResponse>)> done)
      : client_(client), done_(std::move(done)) {
    exchange_ = client.start(
        request, ExchangeEvents{[this](const http::ResponseHead& head) {
                                  response_.status = head.status;
                                  response_.content_type =
                                      std::string(head.headers.get("content-type").value_or(""));
                                },
                                [this](buffer::Slice data) {
                                  if (response_.body.size() + data.size() >
                                      client_.options().max_response_bytes) {
                                    too_large_ = true;
                                    return;
                                  }
                                  response_.body.append(data.view());
                                },
                                [this] { finish(); },
                                [this](Error e) {
                                  exchange_ = nullptr;
                                  auto done = std::move(done_);
                                  if (done) done(fail(std::move(e)));
                                }});
  }
  ~CallImpl() override {
    if (exchange_ != nullptr) exchange_->cancel();
  }

 private:
  void finish() {
    exchange_ = nullptr;
    auto done = std::move(done_);
    if (!done) return;
    if (too_large_) {
      done(fail(ErrorCode::kTooLarge, "response larger than " +
                                          std::to_string(client_.options().max_response_bytes) +
                                          " bytes"));
    } else {
      done(std::move(response_));
    }
  }

  Client& client_;
  std::function<void(Result<ClientResponse>)> done_;
  ClientExchange* exchange_ = nullptr;
  ClientResponse response_;
  bool too_large_ = false;
};

class WatchImpl final : public Watch {
 public:
  WatchImpl(Client& client, std::string target, WatchCallbacks callbacks)
      : client_(client),
        target_(std::move(target)),
        callbacks_(std::move(callbacks)),
        retry_(client.worker().loop(), [this] { open(); }) {
    open();
  }
  ~WatchImpl() override {
    if (exchange_ != nullptr) exchange_->cancel();
  }

 private:
  void open() {
    line_.clear();
    std::string target = callbacks_.target ? callbacks_.target() : target_;
    RequestHeaders headers = callbacks_.headers ? callbacks_.headers() : RequestHeaders{};
    exchange_ = client_.start(
        ExchangeRequest{"GET", std::move(target), "", /*stream=*/true, std::move(headers)},
        ExchangeEvents{[this](const http::ResponseHead& head) { on_head(head); },
                       [this](buffer::Slice data) { on_body(data.view()); },
                       [this] { ended(Error(ErrorCode::kClosed, "stream ended")); },
                       [this](Error e) { ended(std::move(e)); }});
  }

  void on_head(const http::ResponseHead& head) {
    if (!callbacks_.on_open(head.status)) {
      stopped_ = true;
      exchange_->cancel();
      exchange_ = nullptr;
      return;
    }
    if (head.status == 200) attempt_ = 0;
  }

  void on_body(std::string_view bytes) {
    while (!bytes.empty()) {
      size_t nl = bytes.find('\n');
      line_.append(bytes.substr(0, nl));
      if (nl == std::string_view::npos) break;
      bytes.remove_prefix(nl + 1);
      if (!line_.empty() && callbacks_.on_line) callbacks_.on_line(line_);
      line_.clear();
    }
    if (line_.size() > client_.options().max_response_bytes) {
      exchange_->cancel();
      ended(Error(ErrorCode::kTooLarge, "stream line too long"));
    }
  }

  void ended(Error why) {
    exchange_ = nullptr;
    if (stopped_) return;
    auto delay = client_.backoff(attempt_++);
    callbacks_.on_error(why, delay);
    retry_.arm(delay);
  }

  Client& client_;
  std::string target_;
  WatchCallbacks callbacks_;
  event::Timer retry_;
  ClientExchange* exchange_ = nullptr;
  std::string line_;
  unsigned attempt_ = 0;
  bool stopped_ = false;
};

Client::Client(event::Worker& worker, net::SocketAddress server, ClientOptions options)
    : worker_(worker),
      server_(std::move(server)),
      options_(options),
      rng_(static_cast<unsigned>(uv_hrtime())) {}

Client::~Client() {
  if (h2_ != nullptr) std::exchange(h2_, nullptr)->close();
}

ClientExchange* Client::start(const ExchangeRequest& request, ExchangeEvents events) {
  if (options_.protocol == ClientProtocol::kHttp1) {
    return H1Exchange::start(*this, request, std::move(events));
  }
  if (h2_ == nullptr || !h2_->usable()) {
    // A retired transport finishes its streams on its own; it no longer reports to us.
    h2_ = new H2Transport(*this, [this](H2Transport* gone) {
      if (h2_ == gone) h2_ = nullptr;
    });
  }
  return h2_->start(request, std::move(events));
}

std::unique_ptr<Call> Client::request(std::string method, std::string target, std::string body,
                                      std::function<void(Result<ClientResponse>)> done,
                                      RequestHeaders headers) {
  return std::make_unique<CallImpl>(*this,
                                    ExchangeRequest{std::move(method), std::move(target),
                                                    std::move(body), false, std::move(headers)},
                                    std::move(done));
}

std::unique_ptr<Watch> Client::watch(std::string target, WatchCallbacks callbacks) {
  return std::make_unique<WatchImpl>(*this, std::move(target), std::move(callbacks));
}

std::chrono::milliseconds Client::backoff(unsigned attempt) {
  auto base = static_cast<uint64_t>(options_.backoff_min.count());
  auto cap = static_cast<uint64_t>(options_.backoff_max.count());
  uint64_t ceiling = std::min(cap, base << std::min(attempt, 20u));
  std::uniform_int_distribution<uint64_t> pick(0, ceiling);
  return std::chrono::milliseconds(pick(rng_));
}

Result<void> Client::secure(net::TcpConnection& tcp) const {
  if (options_.tls == nullptr) return {};
  tls::ClientSessionOptions o{options_.tls_server_name, options_.tls_server_name, nullptr};
  auto session = tls::Session::client(options_.tls, o);
  if (!session) return fail(Error::wrap(session.error(), "TLS to " + server_.to_string()));
  return tcp.set_transport_layer(std::move(*session));
}

}  // namespace lmesh::api
