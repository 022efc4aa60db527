#include "proxy/http2/exchange.h"

#include <spdlog/spdlog.h>

#include <charconv>

#include "proxy/http2/server_connection.h"
#include "proxy/proxy_worker.h"
#include "proxy/routing.h"
#include "proxy/tap/request_tap.h"
#include "proxy/upstream/http1_stream.h"
#include "proxy/upstream/http2_stream.h"

namespace lmesh::proxy {
namespace h2 = http::h2;

namespace {

// gRPC status codes the proxy answers with (grpc/doc/statuscodes.md).
constexpr uint32_t kGrpcUnavailable = 14;
constexpr uint32_t kGrpcDeadlineExceeded = 4;
// Set by an outbound proxy on an HTTP/1.1 request it carries over HTTP/2 to another proxy.
constexpr std::string_view kOrigProto = "lmesh-orig-proto";

bool is_grpc(const http::RequestHead& request) {
  auto type = request.headers.get("content-type");
  return type && type->starts_with("application/grpc");
}

std::optional<uint32_t> grpc_status(const http::HeaderMap& fields) {
  auto value = fields.get("grpc-status");
  if (!value) return std::nullopt;
  uint32_t code = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), code);
  if (ec != std::errc() || end != value->data() + value->size()) return std::nullopt;
  return code;
}

}  // namespace

Http2Exchange::Http2Exchange(Http2ServerConnection& server, h2::Stream& downstream)
    : server_(server),
      downstream_(&downstream),
      replay_(server.proxy_worker().worker().chunks()),
      early_body_(server.proxy_worker().worker().chunks()) {}

Http2Exchange::~Http2Exchange() = default;

h2::ServerSession& Http2Exchange::session() {
  return server_.session();
}

// ---- the request ----

void Http2Exchange::start(bool end_stream) {
  request_ended_ = end_stream;
  start_ns_ = server_.proxy_worker().worker().turn_time_ns();
  http::RequestHead& req = downstream_->request();
  grpc_ = is_grpc(req);
  // From another proxy's outbound side, an HTTP/1.1 request goes back to HTTP/1.1 here.
  if (server_.direction() == Direction::kInbound && req.headers.get(kOrigProto) == "HTTP/1.1") {
    to_http1_ = true;
    req.headers.remove(kOrigProto);
  }

  std::string fallback;
  std::string_view authority;
  if (auto named = request_authority(req)) {
    authority = *named;
  } else if (server_.target().destination) {
    fallback = server_.target().destination->to_string();
    authority = fallback;
  }
  route_ = server_.route(authority);
  route_->requests->inc();
  tap_ = tap_request(server_.proxy_worker().taps(), server_.direction(), server_.peer(),
                     server_.target(), req, authority);

  if (req.method == "CONNECT") {
    respond_error(ProxyError::kUnsupported,
                  Error(ErrorCode::kInvalidArgument, "CONNECT is not proxied"));
    return;
  }
  auto result = router_.route(server_.proxy_worker(), server_.direction(), server_.target(), req,
                              [this](RouteResult r) { routed(std::move(r)); });
  if (result) routed(std::move(*result));
}

void Http2Exchange::routed(RouteResult result) {
  if (!result) {
    // A request that never reached a service still counts on the route discovery matched.
    if (!std::exchange(routed_once_, true)) {
      policy_.begin(server_.proxy_worker().metrics(), server_.direction(), result.error());
    }
    respond_error(result.error().reason, result.error().cause, result.error().status);
    return;
  }
  endpoint_ = result->address;
  if (tap_) tap_->routed(*endpoint_, server_.proxy_worker().endpoint_identities());
  if (!std::exchange(routed_once_, true)) {
    // The first routing decides the request's policy; retries only change the endpoint.
    ProxyWorker& worker = server_.proxy_worker();
    policy_.begin(worker.metrics(), server_.direction(), *result,
                  worker.discovery() != nullptr ? &worker.discovery()->rng() : nullptr);
    replayable_ = policy_.keeps_body();
    if (auto timeout = policy_.timeout(); timeout.count() > 0) {
      route_timer_ = std::make_unique<event::Timer>(server_.proxy_worker().worker().loop(), [this] {
        if (response_started_) return;
        const discovery::Route& r = *policy_.matched().route;
        respond_error(ProxyError::kRouteTimeout,
                      Error(ErrorCode::kTimeout, "route " + r.name + " timed out after " +
                                                     std::to_string(r.timeout_ms) + " ms"));
      });
      route_timer_->arm(timeout);
    }
  }
  attempt_.start(server_.proxy_worker().metrics(), server_.direction(), *result);
  open_upstream();
  maybe_mirror();
}

void Http2Exchange::open_upstream() {
  ++attempts_;
  ProxyWorker& worker = server_.proxy_worker();
  const http::RequestHead& req = downstream_->request();
  bool end = request_ended_ && early_body_.empty() && !request_trailers_;
  if (to_http1_) {
    upstream_ =
        Http1UpstreamStream::open(worker.pool(server_.direction()), *endpoint_, req, end, *this);
  } else {
    auto opened =
        Http2UpstreamStream::open(worker.h2_pool(server_.direction()), *endpoint_, req, end, *this);
    if (!opened) {
      respond_error(ProxyError::kConnectFailed, opened.error());
      return;
    }
    upstream_ = std::move(*opened);
  }
  while (!early_body_.empty()) {
    buffer::Slice piece = early_body_.slice(0).share();
    early_body_.drain(piece.size());
    if (window_settled_) {
      upstream_->send_data(std::move(piece), false);  // a replay: the client paid already
      continue;
    }
    keep_for_replay(piece);
    request_forwarded_ += piece.size();
    upstream_->send_data(std::move(piece), false);
  }
  request_end_sent_ = end;
  if (request_ended_ && !end) end_request_upstream();
  server_.response_deadlines().add(*this);
}

void Http2Exchange::end_request_upstream() {
  request_end_sent_ = true;
  if (request_trailers_) {
    upstream_->send_trailers(*request_trailers_);
  } else {
    upstream_->send_data(buffer::Slice(), true);
  }
}

void Http2Exchange::retire_upstream() {
  // The stream may be on the stack (this runs from its callbacks): freed on a later turn.
  if (upstream_ != nullptr) server_.proxy_worker().worker().defer_delete(std::move(upstream_));
}

void Http2Exchange::keep_for_replay(const buffer::Slice& piece) {
  if (!replayable_) return;
  if (replay_.size() + piece.size() > kMaxReplayBytes) {
    replayable_ = false;  // too large to keep: this request will not be retried
    replay_.clear();
    return;
  }
  replay_.append(piece.share());
}

bool Http2Exchange::retry_attempt() {
  // Only a request the client has finished can be replayed whole.
  if (downstream_ == nullptr || response_started_ || !request_ended_) return false;
  if (!policy_.retry(uv_hrtime(), replayable_)) return false;
  attempt_.finish(false);
  cancel();  // the response-head deadline restarts with the next attempt
  if (upstream_ != nullptr) upstream_->cancel();
  retire_upstream();
  if (!window_settled_) {
    // Every byte of the finished request has arrived; the replay comes from replay_, so the
    // client's window is given back in full now and no longer tracked.
    if (request_forwarded_ > request_returned_) {
      session().consume(*downstream_, request_forwarded_ - request_returned_);
      server_.schedule_flush();
    }
    window_settled_ = true;
  }
  early_body_.clear();
  for (size_t i = 0; i < replay_.slice_count(); ++i) early_body_.append(replay_.slice(i).share());
  request_end_sent_ = false;
  spdlog::debug("{} request to {} failed; retry {} by the service profile",
                to_string(server_.direction()), endpoint_->to_string(), policy_.retries());
  auto result =
      router_.route(server_.proxy_worker(), server_.direction(), server_.target(),
                    downstream_->request(), [this](RouteResult r) { routed(std::move(r)); });
  if (result) routed(std::move(*result));
  return true;
}

void Http2Exchange::on_request_data(buffer::Slice data) {
  if (upstream_ != nullptr) {
    keep_for_replay(data);
    request_forwarded_ += data.size();
    upstream_->send_data(std::move(data), false);
    on_upstream_request_sent();  // an upstream that took the bytes at once frees the window now
  } else if (!upstream_done_) {
    // The upstream stream is not open yet: held, and not given back, so the client's stream
    // window bounds what waits here.
    early_body_.append(std::move(data));
  } else {
    session().consume(*downstream_, data.size());  // answered already: dropped
  }
}

void Http2Exchange::on_request_trailers(const http::HeaderMap& trailers) {
  request_trailers_ = trailers;
}

void Http2Exchange::on_request_end() {
  // After a head with END_STREAM this comes too, with the end already sent upstream.
  request_ended_ = true;
  if (upstream_ != nullptr && !request_end_sent_) end_request_upstream();
  maybe_mirror();
}

void Http2Exchange::maybe_mirror() {
  const discovery::Mirror* mirror = policy_.mirror();
  if (mirror == nullptr || mirror_started_ || !request_ended_ || downstream_ == nullptr) return;
  mirror_started_ = true;
  ProxyWorker& worker = server_.proxy_worker();
  if (!replayable_) {
    worker.metrics().count_mirror(policy_.dst(), policy_.route_name(), "too_large");
    return;
  }
  MirroredRequest copy{downstream_->request(), buffer::Buffer(worker.worker().chunks()),
                       request_trailers_, false};
  for (size_t i = 0; i < replay_.slice_count(); ++i) copy.body.append(replay_.slice(i).share());
  worker.mirrors().start(mirror->authority, policy_.dst(), std::string(policy_.route_name()),
                         std::move(copy));
}

void Http2Exchange::on_upstream_request_sent() {
  if (downstream_ == nullptr || upstream_ == nullptr || window_settled_) return;
  uint64_t sent =
      request_forwarded_ - std::min<uint64_t>(upstream_->queued_bytes(), request_forwarded_);
  if (sent > request_returned_) {
    session().consume(*downstream_, sent - request_returned_);
    request_returned_ = sent;
    server_.schedule_flush();
  }
}

// ---- the response ----

void Http2Exchange::on_upstream_head(http::ResponseHead& head, bool end_stream) {
  if (downstream_ == nullptr) return;
  if (head.informational()) {
    // 1xx heads pass on (100 Continue above all); RFC 9113 §8.6 forbids 101 in HTTP/2, and
    // the session would not deliver one.
    if (session().submit_response(*downstream_, head, false)) server_.schedule_flush();
    return;
  }
  if (policy_.is_failure(head.status) && retry_attempt()) return;
  cancel();
  response_started_ = true;
  status_ = head.status;
  attempt_.finish(!policy_.is_failure(head.status));
  if (route_timer_) route_timer_->disarm();
  uint64_t now = server_.proxy_worker().worker().turn_time_ns();
  route_->latency_ms->observe(static_cast<double>(now - start_ns_) / 1e6);
  if (grpc_) head_grpc_status_ = grpc_status(head.headers);  // a trailers-only response
  if (tap_) tap_->response_head(head.status, head.headers);
  response_end_queued_ = end_stream;
  if (session().submit_response(*downstream_, head, end_stream)) server_.schedule_flush();
}

void Http2Exchange::on_upstream_data(buffer::Slice data) {
  if (downstream_ == nullptr || response_end_queued_) return;
  response_forwarded_ += data.size();
  if (session().send_data(*downstream_, std::move(data), false)) server_.schedule_flush();
}

void Http2Exchange::on_response_sent() {
  if (downstream_ == nullptr || upstream_ == nullptr) return;
  uint64_t sent = response_forwarded_ - downstream_->queued_bytes();
  if (sent > response_returned_) {
    upstream_->consume(sent - response_returned_);
    response_returned_ = sent;
  }
}

void Http2Exchange::on_upstream_trailers(http::HeaderMap& trailers) {
  if (grpc_) trailer_grpc_status_ = grpc_status(trailers);
  if (downstream_ == nullptr || response_end_queued_) return;
  response_end_queued_ = true;
  if (session().send_trailers(*downstream_, trailers)) server_.schedule_flush();
}

void Http2Exchange::on_upstream_end() {
  retire_upstream();
  upstream_done_ = true;
  if (downstream_ != nullptr && !response_end_queued_) {
    response_end_queued_ = true;
    if (session().send_data(*downstream_, buffer::Slice(), true)) server_.schedule_flush();
  }
  std::optional<uint32_t> grpc = trailer_grpc_status_ ? trailer_grpc_status_ : head_grpc_status_;
  count_response(status_, grpc, policy_.is_failure(status_) || (grpc && *grpc != 0));
}

void Http2Exchange::on_upstream_failed(ProxyError reason, const Error& cause, bool retryable) {
  retire_upstream();
  cancel();
  // The upstream never processed it (a refused stream, a dead pooled connection): send the
  // request again, on a fresh connection, when no body byte has gone yet.
  if (retryable && downstream_ != nullptr && !response_started_ && request_forwarded_ == 0 &&
      attempts_ < 2) {
    spdlog::debug("{} request to {} not processed by the upstream ({}); retrying once",
                  to_string(server_.direction()), endpoint_->to_string(), cause.describe());
    open_upstream();
    return;
  }
  // The endpoint failed the request: the profile may send it elsewhere.
  if (!client_caused(reason) && retry_attempt()) return;
  respond_error(reason, cause);
}

void Http2Exchange::expire() {
  respond_error(
      ProxyError::kUpstreamTimeout,
      Error(ErrorCode::kTimeout, "no response head from " + endpoint_->to_string() + " in time"));
}

// ---- errors: the one place a failure becomes a response or a reset ----

void Http2Exchange::respond_error(ProxyError reason, const Error& cause, uint16_t status) {
  upstream_done_ = true;
  // Only the endpoint's own failures count against it; a client's says nothing about it.
  if (client_caused(reason)) attempt_.cancel();
  attempt_.finish(false);
  detach_upstream();
  ProxyWorker& worker = server_.proxy_worker();
  worker.report_error(server_.direction(), reason, server_.peer(), cause, " (HTTP/2)");
  if (tap_) tap_->proxy_error(info(reason).header);
  if (downstream_ == nullptr) return;
  if (response_started_) {
    // Part of the response is out: only a reset tells the client the rest is missing.
    session().reset(*downstream_, h2::Http2ErrorCode::kInternalError);
    server_.schedule_flush();
    if (tap_) {
      tap_->add_response_bytes(response_forwarded_);
      tap_->end(status_, std::nullopt, "INTERNAL_ERROR");
      tap_.reset();
    }
    count_response(status_, std::nullopt, true);
    return;
  }
  const ProxyErrorInfo& i = info(reason);
  http::ResponseHead head;
  std::optional<uint32_t> grpc;
  head.headers.add("lmesh-proxy-error", i.header);
  if (grpc_) {
    // gRPC clients read errors from grpc-status, not from the HTTP status (trailers-only form).
    grpc = reason == ProxyError::kUpstreamTimeout || reason == ProxyError::kConnectTimeout
               ? kGrpcDeadlineExceeded
               : kGrpcUnavailable;
    head.status = 200;
    head.headers.add("content-type", "application/grpc");
    head.headers.add("grpc-status", std::to_string(*grpc));
    head.headers.add("grpc-message", i.header);
  } else {
    head.status = status != 0 ? status : i.status;
    head.headers.add("content-type", "text/plain");
    head.headers.add("content-length", std::to_string(i.header.size() + 1));
  }
  response_started_ = true;
  response_end_queued_ = true;
  status_ = head.status;
  if (session().submit_response(*downstream_, head, grpc_) && !grpc_) {
    buffer::Buffer body(worker.worker().chunks());
    body.append(i.header);
    body.append("\n");
    (void)session().send_data(*downstream_, std::move(body), true);
  }
  // The client may still be sending: once the answer is out, ask it to stop (RFC 9113 §8.1).
  if (!request_ended_) session().reset(*downstream_, h2::Http2ErrorCode::kNoError);
  server_.schedule_flush();
  count_response(head.status, grpc, true);
}

void Http2Exchange::count_response(uint16_t status, std::optional<uint32_t> grpc_status,
                                   bool failure) {
  if (response_counted_) return;
  response_counted_ = true;
  if (tap_) {
    tap_->add_response_bytes(response_forwarded_);
    tap_->end(status, grpc_status);
    tap_.reset();
  }
  server_.response_counter(*route_, status, grpc_status, failure).inc();
  policy_.respond(status, failure, start_ns_);
}

// ---- ends ----

void Http2Exchange::detach_upstream() {
  router_.cancel();
  if (route_timer_) route_timer_->disarm();
  attempt_.cancel();  // a cancelled request says nothing about the endpoint
  cancel();
  if (upstream_ != nullptr) upstream_->cancel();
  retire_upstream();
}

void Http2Exchange::on_downstream_reset(h2::Http2ErrorCode code) {
  if (tap_) {
    tap_->add_response_bytes(response_forwarded_);
    tap_->end(status_, std::nullopt, h2::to_string(code));
    tap_.reset();
  }
  upstream_done_ = true;
  detach_upstream();
}

void Http2Exchange::downstream_closed() {
  downstream_ = nullptr;
  upstream_done_ = true;
  detach_upstream();
}

}  // namespace lmesh::proxy
