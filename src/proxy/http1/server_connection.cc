#include "proxy/http1/server_connection.h"

#include <spdlog/spdlog.h>

#include "common/http/h1/encoder.h"
#include "proxy/opaque/tcp_relay.h"
#include "proxy/proxy_worker.h"
#include "proxy/tap/request_tap.h"
#include "proxy/upstream/http2_stream.h"

namespace lmesh::proxy {
namespace h1 = http::h1;
using Outcome = h1::Parser::Outcome;

namespace {

// Methods a client may safely send twice (RFC 9110 §9.2.2) and that carry no body here: the
// only requests replayed when a pooled connection turns out to be dead.
bool replayable(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE";
}

}  // namespace

Http1ServerConnection::Http1ServerConnection(ProxyWorker& worker, Direction direction,
                                             MeteredSocket downstream,
                                             const ConnectionTarget& target)
    : ProxyConnection(worker),
      direction_(direction),
      downstream_(std::move(downstream)),
      target_(target),
      parser_(h1::Parser::Kind::kRequest, *this, worker.config().max_header_bytes),
      pending_(worker.worker().chunks()),
      to_upstream_(worker.worker().chunks()),
      out_(worker.worker().chunks()),
      early_body_(worker.worker().chunks()),
      replay_(worker.worker().chunks()),
      deadline_(worker.worker().loop(), [this] { on_deadline(); }) {
  downstream_.tcp->set_handler(*this);
}

Http1ServerConnection::~Http1ServerConnection() = default;

void Http1ServerConnection::start(buffer::Buffer initial) {
  pending_.append(std::move(initial));
  enter_idle();
  process_input();
}

// ---- reading requests ----

void Http1ServerConnection::on_read(buffer::Slice data) {
  pending_.append(std::move(data));
  process_input();
}

bool Http1ServerConnection::parsing_allowed() const {
  return state_ != State::kClosing && parser_hold_ == ParserHold::kNone;
}

void Http1ServerConnection::process_input() {
  while (!pending_.empty() && parsing_allowed()) {
    auto [consumed, outcome] = parser_.feed(pending_.slice(0));
    pending_.drain(consumed);
    if (state_ == State::kClosing) return;
    if (outcome == Outcome::kMessageComplete) parser_hold_ = ParserHold::kPaused;
    if (outcome == Outcome::kUpgrade) parser_hold_ = ParserHold::kUpgrade;
    if (outcome == Outcome::kError) {
      respond_error(parser_.error() == h1::Parser::Error::kHeadTooLarge
                        ? ProxyError::kHeaderTooLarge
                        : ProxyError::kMalformed,
                    Error(ErrorCode::kProtocol, parser_.error_reason()));
      return;
    }
  }
  // One write upstream per read: a request head and the body bytes behind it leave together.
  flush_request();
  if (state_ == State::kIdle && parser_.in_message()) {
    // The first byte of a request: from now on its head has --header-timeout to arrive, however
    // slowly it trickles in (slowloris).
    state_ = State::kHead;
    deadline_.set(worker_.config().header_timeout);
  }
  update_reading();
}

void Http1ServerConnection::update_reading() {
  if (state_ == State::kClosing || downstream_eof_) return;
  // Read while nothing waits unparsed, except that a request body is not read faster than the
  // upstream takes it, nor while the upstream is still being found.
  bool body_blocked = state_ == State::kExchange && !request_done_ &&
                      (upstream_paused_us_ || (upstream_ == nullptr && mesh_ == nullptr));
  if (pending_.empty() && !body_blocked) {
    downstream_.tcp->read_start();
  } else {
    downstream_.tcp->read_stop();
  }
}

void Http1ServerConnection::on_head() {
  deadline_.clear();
  state_ = State::kExchange;
  request_done_ = false;
  response_started_ = false;
  switching_ = false;
  framing_ = Framing::kNone;
  status_ = 0;
  attempts_ = 0;
  upstream_reused_ = false;
  start_ns_ = worker_.worker().turn_time_ns();

  http::RequestHead& req = parser_.request();
  // Only WebSocket upgrades become tunnels. Any other upgrade (h2c above all, which RFC 9113
  // §3.1 retired in favour of prior knowledge) is declined: the Upgrade field is dropped and
  // the request is answered over HTTP/1.1, as RFC 9110 §7.8 lets a server do.
  if (req.upgrade && !req.headers.has_token(http::FieldName::kUpgrade, "websocket"))
    parser_.decline_upgrade();

  auto authority = request_authority(req);
  std::string_view authority_label = authority ? *authority : std::string_view();
  std::string fallback;
  if (!authority && target_.destination) {
    fallback = target_.destination->to_string();
    authority_label = fallback;
  }
  if (!route_ || route_->authority != authority_label) {
    route_ =
        worker_.metrics().route(direction_, authority_label, target_.tls, target_.client_identity);
    response_counter_ = nullptr;
  }
  route_->requests->inc();
  request_counted_ = true;
  tap_ = tap_request(worker_.taps(), direction_, downstream_.tcp->peer(), target_, req,
                     authority_label);

  if (req.method == "CONNECT") {
    respond_error(ProxyError::kUnsupported,
                  Error(ErrorCode::kInvalidArgument, "CONNECT is not proxied"));
    return;
  }
  policy_.reset();
  routed_once_ = false;
  mirror_started_ = false;
  replayable_ = false;
  replay_.clear();
  early_body_.clear();
  auto result = router_.route(worker_, direction_, target_, req, [this](RouteResult r) {
    if (!routed(std::move(r))) return;
    connect_upstream();
    process_input();
  });
  if (result && !routed(std::move(*result))) return;
  encode_request_head();
  if (endpoint_) connect_upstream();
}

bool Http1ServerConnection::routed(RouteResult result) {
  if (!result) {
    // A request that never reached a service still counts on the route discovery matched.
    if (!std::exchange(routed_once_, true)) {
      policy_.begin(worker_.metrics(), direction_, result.error());
    }
    respond_error(result.error().reason, result.error().cause, result.error().status);
    return false;
  }
  endpoint_ = result->address;
  if (tap_) tap_->routed(*endpoint_, worker_.endpoint_identities());
  if (!std::exchange(routed_once_, true)) {
    // The first routing decides the request's policy; retries only change the endpoint.
    DiscoveryCache* discovery = worker_.discovery();
    policy_.begin(worker_.metrics(), direction_, *result,
                  discovery != nullptr ? &discovery->rng() : nullptr);
    replayable_ = policy_.keeps_body() && !parser_.request().upgrade;
    // Body bytes that arrived while the route was being found are the replay's beginning.
    if (replayable_) keep_for_replay(early_body_);
    if (auto timeout = policy_.timeout(); timeout.count() > 0) {
      if (route_timer_ == nullptr) {
        route_timer_ = std::make_unique<event::Timer>(worker_.worker().loop(), [this] {
          if (state_ != State::kExchange || response_started_) return;
          const discovery::Route& r = *policy_.matched().route;
          respond_error(ProxyError::kRouteTimeout,
                        Error(ErrorCode::kTimeout, "route " + r.name + " timed out after " +
                                                       std::to_string(r.timeout_ms) + " ms"));
        });
      }
      route_timer_->arm(timeout);
    }
  }
  attempt_.start(worker_.metrics(), direction_, *result);
  maybe_mirror();
  return true;
}

void Http1ServerConnection::maybe_mirror() {
  const discovery::Mirror* mirror = policy_.mirror();
  if (mirror == nullptr || mirror_started_ || !request_done_) return;
  mirror_started_ = true;
  if (!replayable_) {
    worker_.metrics().count_mirror(policy_.dst(), policy_.route_name(), "too_large");
    return;
  }
  const http::RequestHead& req = parser_.request();
  MirroredRequest copy{{}, buffer::Buffer(worker_.worker().chunks()), std::nullopt, true};
  copy.head.method = req.method;
  copy.head.target = origin_form(req.target);
  copy.head.authority = std::string(request_authority(req).value_or(""));
  copy.head.scheme = "http";
  copy.head.headers = req.headers;  // connection-specific fields are dropped on the way out
  copy.head.framing = req.framing;
  copy.head.content_length = req.content_length;
  for (size_t i = 0; i < replay_.slice_count(); ++i) copy.body.append(replay_.slice(i).share());
  if (!parser_.trailers().empty()) copy.trailers = parser_.trailers();
  worker_.mirrors().start(mirror->authority, policy_.dst(), std::string(policy_.route_name()),
                          std::move(copy));
}

void Http1ServerConnection::encode_request_head() {
  const http::RequestHead& req = parser_.request();
  bool absolute_form = is_absolute_form(req.target);
  auto authority = request_authority(req);
  if (absolute_form) {
    h1::append_request_line(to_upstream_, req.method, origin_form(req.target));
  } else {
    h1::append_request_line(to_upstream_, req.method, req.target);
  }
  // An absolute-form target names the authority; Host must agree with it (RFC 9112 §3.2.2).
  h1::append_end_to_end_fields(to_upstream_, req.headers, absolute_form ? "host" : "");
  if ((absolute_form || !req.headers.has(http::FieldName::kHost)) && authority) {
    h1::append_field(to_upstream_, "Host", *authority);
  }
  if (req.upgrade) {
    h1::append_field(to_upstream_, "Connection", "Upgrade");
    h1::append_field(to_upstream_, "Upgrade",
                     req.headers.get(http::FieldName::kUpgrade).value_or(""));
  }
  if (req.framing == http::BodyFraming::kChunked) {
    h1::append_field(to_upstream_, "Transfer-Encoding", "chunked");
  }
  h1::end_head(to_upstream_);
}

void Http1ServerConnection::connect_upstream() {
  const http::RequestHead& req = parser_.request();
  // Upgrades (WebSocket) need the HTTP/1.1 connection itself: they go direct.
  if (!req.upgrade && worker_.endpoint_identities().is_meshed(*endpoint_)) {
    open_mesh_stream();
    return;
  }
  early_body_.clear();  // to_upstream_ holds it, encoded
  upstream_ = &worker_.pool(direction_).acquire(*endpoint_, *this, req.method == "HEAD");
  upstream_reused_ = upstream_->reused();
  ++attempts_;
  if (request_done_) upstream_->request_complete();
}

void Http1ServerConnection::open_mesh_stream() {
  const http::RequestHead& req = parser_.request();
  ++attempts_;
  to_upstream_.clear();  // the HTTP/1.1 encoding is not needed: early_body_ has the raw bytes
  http::RequestHead head;
  head.method = req.method;
  head.target = origin_form(req.target);
  head.authority = std::string(request_authority(req).value_or(endpoint_->to_string()));
  head.scheme = "http";
  head.headers = req.headers;  // connection-specific fields are dropped on the way out
  head.headers.add("lmesh-orig-proto", "HTTP/1.1");
  bool no_body = req.framing == http::BodyFraming::kNone;
  auto stream =
      Http2UpstreamStream::open(worker_.h2_pool(direction_), *endpoint_, head, no_body, *this);
  if (!stream) {
    respond_error(ProxyError::kConnectFailed, stream.error());
    return;
  }
  mesh_ = std::move(*stream);
  mesh_unconsumed_ = 0;
  mesh_trailers_.clear();
  for (size_t i = 0; i < early_body_.slice_count(); ++i) {
    mesh_->send_data(early_body_.slice(i).share(), false);
  }
  early_body_.clear();
  if (request_done_ && !no_body) {
    if (!parser_.trailers().empty()) {
      mesh_->send_trailers(parser_.trailers());
    } else {
      mesh_->send_data(buffer::Slice(), true);
    }
  }
  deadline_.set(worker_.config().upstream_timeout);  // the response head's deadline
}

void Http1ServerConnection::retire_mesh_stream() {
  // Its callbacks may be on the stack: freed on a later loop turn.
  if (mesh_ != nullptr) worker_.worker().defer_delete(std::move(mesh_));
}

void Http1ServerConnection::flush_request() {
  if (upstream_ != nullptr && !to_upstream_.empty()) upstream_->tcp().write(to_upstream_);
}

void Http1ServerConnection::on_body(buffer::Slice data) {
  keep_for_replay(data);
  if (mesh_ != nullptr) {
    mesh_->send_data(std::move(data), false);
    // The stream's queue is the upstream's write queue: above the cap, stop reading the client.
    if (mesh_->queued_bytes() > worker_.config().connection_buffer_bytes) {
      upstream_paused_us_ = true;
    }
    return;
  }
  // No upstream yet: the raw bytes wait too, in case it turns out to be the mesh hop.
  if (upstream_ == nullptr) early_body_.append(data.share());
  if (parser_.request().framing == http::BodyFraming::kChunked) {
    h1::append_chunk(to_upstream_, std::move(data));
  } else {
    to_upstream_.append(std::move(data));
  }
}

void Http1ServerConnection::keep_for_replay(const buffer::Slice& piece) {
  if (!replayable_) return;
  if (replay_.size() + piece.size() > kMaxReplayBytes) {
    replayable_ = false;  // too large to keep: this request will not be retried
    replay_.clear();
    return;
  }
  replay_.append(piece.share());
}

void Http1ServerConnection::keep_for_replay(const buffer::Buffer& bytes) {
  for (size_t i = 0; i < bytes.slice_count(); ++i) keep_for_replay(bytes.slice(i));
}

bool Http1ServerConnection::retry_attempt() {
  // Only a request the client has finished can be replayed whole.
  if (state_ != State::kExchange || response_started_ || !request_done_) return false;
  if (!policy_.retry(uv_hrtime(), replayable_)) return false;
  attempt_.finish(false);
  if (upstream_ != nullptr) std::exchange(upstream_, nullptr)->detach();
  if (mesh_ != nullptr) mesh_->cancel();
  retire_mesh_stream();
  deadline_.clear();
  spdlog::debug("{} request to {} failed; retry {} by the service profile", to_string(direction_),
                endpoint_->to_string(), policy_.retries());
  endpoint_.reset();
  encode_replay();
  auto result =
      router_.route(worker_, direction_, target_, parser_.request(), [this](RouteResult r) {
        if (!routed(std::move(r))) return;
        connect_upstream();
        flush_request();
      });
  if (result && routed(std::move(*result))) {
    connect_upstream();
    flush_request();
  }
  return true;
}

void Http1ServerConnection::encode_replay() {
  to_upstream_.clear();
  early_body_.clear();
  encode_request_head();
  bool chunked = parser_.request().framing == http::BodyFraming::kChunked;
  for (size_t i = 0; i < replay_.slice_count(); ++i) {
    early_body_.append(replay_.slice(i).share());
    if (chunked) {
      h1::append_chunk(to_upstream_, replay_.slice(i).share());
    } else {
      to_upstream_.append(replay_.slice(i).share());
    }
  }
  if (chunked) h1::append_last_chunk(to_upstream_, parser_.trailers());
}

void Http1ServerConnection::on_message_complete() {
  request_done_ = true;
  maybe_mirror();
  if (mesh_ != nullptr) {
    if (!parser_.trailers().empty()) {
      mesh_->send_trailers(parser_.trailers());
    } else if (parser_.request().framing != http::BodyFraming::kNone) {
      mesh_->send_data(buffer::Slice(), true);
    }
    return;
  }
  if (parser_.request().framing == http::BodyFraming::kChunked) {
    h1::append_last_chunk(to_upstream_, parser_.trailers());
  }
  if (upstream_ != nullptr) upstream_->request_complete();
}

// ---- responses ----

void Http1ServerConnection::on_upstream_head(http::ResponseHead& head) {
  const http::RequestHead& req = parser_.request();
  bool client_http11 = req.version_major == 1 && req.version_minor >= 1;
  if (head.informational()) {
    if (head.status == 101) {
      if (!req.upgrade) return;  // an unasked-for switch: on_upstream_upgrade() refuses it
      switching_ = true;
      h1::append_status_line(out_, head.status, head.reason);
      h1::append_end_to_end_fields(out_, head.headers);
      h1::append_field(out_, "Connection", "Upgrade");
      h1::append_field(out_, "Upgrade", head.headers.get(http::FieldName::kUpgrade).value_or(""));
      h1::end_head(out_);
      return;
    }
    // 1xx responses are not for HTTP/1.0 clients (RFC 9110 §15.2).
    if (!client_http11) return;
    h1::append_status_line(out_, head.status, head.reason);
    h1::append_end_to_end_fields(out_, head.headers);
    h1::end_head(out_);
    return;
  }

  if (policy_.is_failure(head.status) && retry_attempt()) return;
  response_started_ = true;
  status_ = head.status;
  if (tap_) tap_->response_head(head.status, head.headers);
  uint64_t now = worker_.worker().turn_time_ns();
  route_->latency_ms->observe(static_cast<double>(now - start_ns_) / 1e6);
  attempt_.finish(!policy_.is_failure(head.status));
  if (route_timer_) route_timer_->disarm();

  switch (head.framing) {
    case http::BodyFraming::kNone: framing_ = Framing::kNone; break;
    case http::BodyFraming::kContentLength: framing_ = Framing::kLength; break;
    case http::BodyFraming::kChunked:
    case http::BodyFraming::kUntilClose:
      // An HTTP/1.1 client gets chunks; an HTTP/1.0 one can only see the end as a close.
      framing_ = client_http11 ? Framing::kChunked : Framing::kClose;
      break;
  }
  bool keep_alive = req.keep_alive && !close_after_response_ && !worker_.draining() &&
                    framing_ != Framing::kClose && !downstream_eof_;
  if (!keep_alive) close_after_response_ = true;

  h1::append_status_line(out_, head.status,
                         head.reason.empty() ? h1::reason_phrase(head.status) : head.reason);
  h1::append_end_to_end_fields(out_, head.headers);
  // An HTTP/2 response without a body may carry no length; HTTP/1.1 must state it.
  if (framing_ == Framing::kLength && !head.headers.has(http::FieldName::kContentLength)) {
    h1::append_content_length(out_, head.content_length);
  }
  if (framing_ == Framing::kChunked) h1::append_field(out_, "Transfer-Encoding", "chunked");
  if (!keep_alive) {
    h1::append_field(out_, "Connection", "close");
  } else if (!client_http11) {
    h1::append_field(out_, "Connection", "keep-alive");
  }
  h1::end_head(out_);
}

void Http1ServerConnection::on_upstream_body(buffer::Slice data) {
  if (tap_) tap_->add_response_bytes(data.size());
  switch (framing_) {
    case Framing::kChunked: h1::append_chunk(out_, std::move(data)); break;
    case Framing::kLength:
    case Framing::kClose: out_.append(std::move(data)); break;
    case Framing::kNone: break;
  }
}

void Http1ServerConnection::on_upstream_read_end() {
  flush_response();
}

void Http1ServerConnection::flush_response() {
  if (!out_.empty() && state_ != State::kClosing) downstream_.tcp->write(out_);
}

void Http1ServerConnection::on_upstream_complete(const http::HeaderMap& trailers) {
  UpstreamConnection* up = std::exchange(upstream_, nullptr);
  worker_.pool(direction_).release(*up);
  complete_response(trailers);
}

void Http1ServerConnection::complete_response(const http::HeaderMap& trailers) {
  if (framing_ == Framing::kChunked) h1::append_last_chunk(out_, trailers);
  flush_response();
  count_response(status_, policy_.is_failure(status_));
  finish_exchange();
}

// ---- responses over the mesh hop ----

void Http1ServerConnection::on_upstream_head(http::ResponseHead& head, bool) {
  if (!head.informational()) deadline_.clear();
  on_upstream_head(head);
  flush_response();
}

void Http1ServerConnection::on_upstream_data(buffer::Slice data) {
  size_t n = data.size();
  on_upstream_body(std::move(data));
  flush_response();
  // Window goes back to the upstream only as fast as the client reads.
  if (downstream_.tcp->above_high_watermark()) {
    mesh_unconsumed_ += n;
  } else if (mesh_ != nullptr) {
    mesh_->consume(n);
  }
}

void Http1ServerConnection::on_upstream_trailers(http::HeaderMap& trailers) {
  mesh_trailers_ = std::move(trailers);
}

void Http1ServerConnection::on_upstream_end() {
  retire_mesh_stream();
  complete_response(mesh_trailers_);
}

void Http1ServerConnection::on_upstream_request_sent() {
  if (mesh_ == nullptr || !upstream_paused_us_) return;
  if (mesh_->queued_bytes() <= worker_.config().connection_buffer_bytes / 4) {
    upstream_paused_us_ = false;
    update_reading();
  }
}

void Http1ServerConnection::on_upstream_failed(ProxyError reason, const Error& cause,
                                               bool retryable) {
  retire_mesh_stream();
  const http::RequestHead& req = parser_.request();
  if (retryable && !response_started_ && request_done_ && req.framing == http::BodyFraming::kNone &&
      attempts_ < 2) {
    spdlog::debug("{} request to {} not processed by the peer proxy ({}); retrying once",
                  to_string(direction_), endpoint_->to_string(), cause.describe());
    open_mesh_stream();
    return;
  }
  // The endpoint failed the request: the profile may send it elsewhere.
  if (!client_caused(reason) && retry_attempt()) return;
  respond_error(reason, cause);
}

void Http1ServerConnection::on_upstream_upgrade(buffer::Slice leftover) {
  if (!switching_) {
    // 101 for a request that did not ask to switch: nothing sane can follow.
    UpstreamConnection* up = std::exchange(upstream_, nullptr);
    up->detach();
    respond_error(ProxyError::kUpstreamMalformed,
                  Error(ErrorCode::kProtocol, "101 Switching Protocols without an Upgrade"));
    return;
  }
  count_response(101, false);
  flush_response();
  MeteredSocket upstream = worker_.pool(direction_).take_socket(*upstream_);
  upstream_ = nullptr;
  buffer::Buffer to_downstream(worker_.worker().chunks());
  to_downstream.append(std::move(leftover));
  state_ = State::kClosing;
  deadline_.clear();
  TcpRelay::join(worker_, std::move(downstream_), std::move(pending_), std::move(upstream),
                 std::move(to_downstream));
  release();
}

bool Http1ServerConnection::retry_allowed(ProxyError reason) const {
  // A pooled connection the server closed just as we reused it fails before any response
  // byte; replaying then is what every HTTP client does (RFC 9110 §9.2.2).
  const http::RequestHead& req = parser_.request();
  return reason == ProxyError::kUpstreamReset && upstream_reused_ && !response_started_ &&
         request_done_ && req.framing == http::BodyFraming::kNone && replayable(req.method) &&
         attempts_ < 2;
}

void Http1ServerConnection::on_upstream_failed(ProxyError reason, const Error& cause) {
  upstream_ = nullptr;
  if (retry_allowed(reason)) {
    spdlog::debug("{} request to {} failed on a reused connection ({}); retrying once",
                  to_string(direction_), endpoint_->to_string(), cause.describe());
    to_upstream_.clear();
    encode_request_head();
    connect_upstream();
    flush_request();
    return;
  }
  if (!client_caused(reason) && retry_attempt()) return;
  respond_error(reason, cause);
}

void Http1ServerConnection::on_upstream_backed_up() {
  upstream_paused_us_ = true;
  update_reading();
}

void Http1ServerConnection::on_upstream_drained() {
  upstream_paused_us_ = false;
  update_reading();
}

void Http1ServerConnection::on_high_watermark() {
  // The client reads slower than the upstream sends: stop reading the upstream.
  if (upstream_ != nullptr) upstream_->tcp().read_stop();
}

void Http1ServerConnection::on_low_watermark() {
  if (upstream_ != nullptr) upstream_->tcp().read_start();
  if (mesh_ != nullptr && mesh_unconsumed_ > 0) mesh_->consume(std::exchange(mesh_unconsumed_, 0));
}

void Http1ServerConnection::finish_exchange() {
  if (close_after_response_ || !request_done_ || downstream_eof_) {
    close(net::CloseMode::kFlush);
    return;
  }
  endpoint_.reset();
  to_upstream_.clear();
  if (parser_hold_ == ParserHold::kPaused) parser_.resume();
  if (parser_hold_ == ParserHold::kUpgrade) parser_.resume_after_upgrade();
  parser_hold_ = ParserHold::kNone;
  enter_idle();
  process_input();  // a pipelined request may be waiting
}

void Http1ServerConnection::enter_idle() {
  state_ = State::kIdle;
  request_counted_ = false;
  deadline_.set(worker_.config().idle_timeout);
}

// ---- errors: the one place a failure becomes an HTTP response ----

void Http1ServerConnection::respond_error(ProxyError reason, const Error& cause, uint16_t status) {
  worker_.report_error(direction_, reason, downstream_.tcp->peer(), cause);
  if (tap_) tap_->proxy_error(info(reason).header);
  // Only the endpoint's own failures count against it; a client's says nothing about it.
  if (client_caused(reason)) attempt_.cancel();
  attempt_.finish(false);
  if (upstream_ != nullptr) std::exchange(upstream_, nullptr)->detach();
  if (mesh_ != nullptr) mesh_->cancel();
  retire_mesh_stream();
  router_.cancel();
  if (route_timer_) route_timer_->disarm();
  if (response_started_) {
    // The client already has part of a response: only a reset tells it the rest is missing.
    if (tap_) {
      tap_->end(status_, std::nullopt, "connection closed");
      tap_.reset();
    }
    count_response(status_, true);
    close(net::CloseMode::kAbort);
    return;
  }
  const ProxyErrorInfo& i = info(reason);
  response_started_ = true;
  status_ = status != 0 ? status : i.status;
  // After a malformed or timed-out request the byte stream cannot be trusted; after an
  // upstream failure it can, if the whole request has been read.
  bool keep_alive = !client_caused(reason) && request_done_ && parser_.request().keep_alive &&
                    !close_after_response_ && !worker_.draining() && !downstream_eof_;
  if (!keep_alive) close_after_response_ = true;
  std::string body = std::string(i.header) + "\n";
  h1::append_status_line(out_, status_, h1::reason_phrase(status_));
  h1::append_field(out_, "lmesh-proxy-error", i.header);
  h1::append_field(out_, "Content-Type", "text/plain");
  h1::append_content_length(out_, body.size());
  if (!keep_alive) h1::append_field(out_, "Connection", "close");
  h1::end_head(out_);
  out_.append(body);
  downstream_.tcp->write(out_);
  count_response(status_, true);
  if (keep_alive) {
    finish_exchange();
  } else {
    close(net::CloseMode::kFlush);
  }
}

void Http1ServerConnection::count_response(uint16_t status, bool failure) {
  if (tap_) {
    tap_->end(status, std::nullopt);
    tap_.reset();
  }
  if (!request_counted_ || !route_) return;
  if (response_counter_ == nullptr || response_counter_status_ != status) {
    response_counter_ = &worker_.metrics().response(*route_, status, std::nullopt, failure);
    response_counter_status_ = status;
  }
  response_counter_->inc();
  policy_.respond(status, failure, start_ns_);
}

// ---- connection lifecycle ----

void Http1ServerConnection::on_deadline() {
  if (state_ == State::kExchange && mesh_ != nullptr && !response_started_) {
    respond_error(
        ProxyError::kUpstreamTimeout,
        Error(ErrorCode::kTimeout, "no response head from " + endpoint_->to_string() + " in time"));
  } else if (state_ == State::kHead) {
    respond_error(ProxyError::kHeaderTimeout,
                  Error(ErrorCode::kTimeout, "request head not complete in time"));
  } else if (state_ == State::kIdle) {
    close(net::CloseMode::kFlush);
  }
}

void Http1ServerConnection::on_eof() {
  downstream_eof_ = true;
  if (state_ == State::kExchange && request_done_) {
    // The client half-closed after its request: answer, then close.
    close_after_response_ = true;
  } else {
    // Idle, mid-head or mid-body: there is nothing left to answer.
    close(state_ == State::kExchange ? net::CloseMode::kNoFlush : net::CloseMode::kFlush);
  }
}

void Http1ServerConnection::on_error(const Error& error) {
  spdlog::debug("{} client connection failed: {}", to_string(direction_), error.describe());
  close(net::CloseMode::kNoFlush);
}

void Http1ServerConnection::close(net::CloseMode mode) {
  if (state_ == State::kClosing) return;
  state_ = State::kClosing;
  deadline_.clear();
  router_.cancel();
  if (route_timer_) route_timer_->disarm();
  attempt_.cancel();
  if (upstream_ != nullptr) std::exchange(upstream_, nullptr)->detach();
  if (mesh_ != nullptr) mesh_->cancel();
  retire_mesh_stream();
  downstream_.tcp->close(mode);
}

void Http1ServerConnection::on_closed() {
  release();
}

void Http1ServerConnection::drain() {
  if (state_ == State::kIdle && pending_.empty()) {
    close(net::CloseMode::kFlush);
  } else {
    close_after_response_ = true;
  }
}

void Http1ServerConnection::abort() {
  close(net::CloseMode::kAbort);
  // A close already under way may be waiting to flush to a client that stopped reading:
  // the grace period is over, so it ends now.
  if (downstream_.tcp != nullptr) downstream_.tcp->close(net::CloseMode::kAbort);
}

}  // namespace lmesh::proxy
