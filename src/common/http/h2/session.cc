#include "common/http/h2/session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cassert>
#include <vector>

#include "common/http/h2/frame_sink.h"
#include "common/http/h2/headers_map.h"
#include "common/http/h2/library_errors.h"
#include "common/http/h2/session_callbacks.h"
#include "common/http/h2/session_memory.h"

namespace lmesh::http::h2 {
namespace {

struct CallbacksDeleter {
  void operator()(nghttp2_session_callbacks* c) const { nghttp2_session_callbacks_del(c); }
};
struct OptionDeleter {
  void operator()(nghttp2_option* o) const { nghttp2_option_del(o); }
};

std::unexpected<Error> library_failure(std::string_view what, int rv) {
  return fail(ErrorCode::kInternal, std::string(what) + ": " + nghttp2_strerror(rv));
}

}  // namespace

Session::Session(Role role, Handler& handler, buffer::ChunkPool& pool, buffer::BlockPool& blocks,
                 const SessionConfig& config)
    : handler_(handler),
      pool_(pool),
      blocks_(blocks),
      config_(config),
      streams_(&blocks),
      scratch_fields_(std::make_unique<NvList>()),
      role_(role) {}

Session::~Session() {
  // nghttp2_session_del() calls no callbacks, so no handler hears of the streams dropped here.
  if (session_ != nullptr) nghttp2_session_del(session_);
}

Result<void> Session::start() {
  if (auto valid = config_.validate(); !valid) return valid;

  nghttp2_session_callbacks* raw_callbacks = nullptr;
  if (int rv = nghttp2_session_callbacks_new(&raw_callbacks); rv != 0) {
    return library_failure("nghttp2_session_callbacks_new", rv);
  }
  std::unique_ptr<nghttp2_session_callbacks, CallbacksDeleter> callbacks(raw_callbacks);
  SessionCallbacks::install(callbacks.get());

  nghttp2_option* raw_option = nullptr;
  if (int rv = nghttp2_option_new(&raw_option); rv != 0) {
    return library_failure("nghttp2_option_new", rv);
  }
  std::unique_ptr<nghttp2_option, OptionDeleter> option(raw_option);
  nghttp2_mem memory = session_memory(blocks_);
  // Windows reopen only when the owner has passed bytes on (consume()): backpressure.
  nghttp2_option_set_no_auto_window_update(option.get(), 1);
  // No RFC 7540 priority tree (SETTINGS_NO_RFC7540_PRIORITIES below), so closed streams need
  // not be kept around for it.
  nghttp2_option_set_no_closed_streams(option.get(), 1);
  nghttp2_option_set_max_outbound_ack(option.get(), config_.max_outbound_ack);
  nghttp2_option_set_max_settings(option.get(), config_.max_settings_entries);
  nghttp2_option_set_max_continuations(option.get(), config_.max_continuations);
  // nghttp2_option_set_no_http_messaging() stays off: nghttp2 then validates pseudo-headers,
  // rejects connection-specific fields and checks content-length (RFC 9113 §8.1.1, §8.2).
  int rv = 0;
  if (role_ == Role::kServer) {
    nghttp2_option_set_stream_reset_rate_limit(option.get(), config_.reset_burst,
                                               config_.reset_rate_per_second);
    rv = nghttp2_session_server_new3(&session_, callbacks.get(), this, option.get(), &memory);
  } else {
    nghttp2_option_set_peer_max_concurrent_streams(option.get(),
                                                   config_.assumed_peer_max_concurrent_streams);
    rv = nghttp2_session_client_new3(&session_, callbacks.get(), this, option.get(), &memory);
  }
  if (rv != 0) return library_failure("nghttp2_session_new", rv);

  std::vector<nghttp2_settings_entry> settings = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, config_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, config_.initial_stream_window},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, config_.max_frame_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, config_.max_header_list_size},
      // RFC 9218 §2.1: the RFC 7540 priority scheme is not used (by either side of lmesh).
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  // RFC 9113 §8.4: push is off. Only a client may say so; a server must not send it as 1 and
  // has no reason to send it at all.
  if (role_ == Role::kClient) settings.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
  rv = nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  if (rv != 0) return library_failure("nghttp2_submit_settings", rv);
  // The connection window starts at 65535 whatever SETTINGS say (§6.9.2): raise it now.
  rv = nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                             static_cast<int32_t>(config_.connection_window));
  if (rv != 0) return library_failure("nghttp2_session_set_local_window_size", rv);
  return {};
}

Result<void> Session::feed(const buffer::Slice& data) {
  if (abandoned()) return fail(ErrorCode::kClosed, "h2 session abandoned");
  if (failed_) return fail(error_->to_error());
  if (data.empty()) return {};
  if (depth_ > 0) {  // nghttp2 must not be re-entered; a bug in the owner
    assert(false && "feed() from inside a session callback");
    return fail(ErrorCode::kInternal, "h2 feed() from inside a session callback");
  }
  ++depth_;
  input_ = &data;
  ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data.data()),
                                        data.size());
  input_ = nullptr;
  if (rv < 0) {
    std::string reason = callback_threw_ ? "a session callback threw" : last_library_error_;
    connection_failed(connection_error_from_library(static_cast<int>(rv), std::move(reason)));
  }
  leave();
  if (failed_) return fail(error_->to_error());
  return {};
}

void Session::produce(buffer::Buffer& out) {
  // Not from callbacks: nghttp2 must not be re-entered (mem_send inside mem_recv).
  if (abandoned() || depth_ > 0) return;
  // §3.4: a peer that did not send the preface does not speak HTTP/2; send it nothing more.
  if (failed_ && error_->kind == ConnectionErrorKind::kBadPreface) return;
  if (final_goaway_due_ && !failed_) submit_final_goaway();
  FrameSink sink(out);
  ++depth_;
  sink_ = &sink;
  for (;;) {
    const uint8_t* bytes = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &bytes);
    if (n < 0) {
      connection_failed(connection_error_from_library(
          static_cast<int>(n), callback_threw_ ? "a session callback threw" : "producing frames"));
      break;
    }
    if (n == 0) break;
    sink.copy(std::string_view(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n)));
  }
  sink_ = nullptr;
  leave();
}

void Session::leave() {
  --depth_;
  if (depth_ > 0) return;
  if (abandon_requested_) {
    finish_abandon();
  } else {
    finish_pending_closes();
  }
}

void Session::finish_pending_closes() {
  while (!pending_closes_.empty() && !abandoned()) {
    StreamId id = pending_closes_.back();
    pending_closes_.pop_back();
    if (Stream* stream = find_stream(id)) finish_stream(*stream, Http2ErrorCode::kCancel);
  }
}

void Session::finish_stream(Stream& stream, Http2ErrorCode code) {
  stream.closed();
  const StreamId id = stream.id();
  ++finishing_streams_;
  if (!stream.announced_) {
    if (stream.rejected_) {
      handler_.on_stream_rejected(id, code, stream.reject_reason_);
    } else if (code != Http2ErrorCode::kNoError) {
      handler_.on_stream_rejected(id, code, stream.reset_reason_);
    }
  } else {
    if (!stream.owner_reset_ && (stream.reset_origin_ || code != Http2ErrorCode::kNoError)) {
      // Closed with an error but no RST_STREAM of its own: the peer's GOAWAY left it out
      // (nghttp2 then closes it with REFUSED_STREAM), or the session gave up on it.
      bool refused = (goaway_received_ && id > goaway_last_stream_id_) ||
                     code == Http2ErrorCode::kRefusedStream;
      ResetOrigin origin =
          stream.reset_origin_.value_or(refused ? ResetOrigin::kRefused : ResetOrigin::kSession);
      handler_.on_stream_reset(stream, code, origin);
    }
    handler_.on_stream_closed(stream);
  }
  --finishing_streams_;
  remove_stream(id);
}

bool Session::want_read() const {
  if (abandoned() || failed_) return false;
  return nghttp2_session_want_read(session_) != 0;
}

bool Session::want_write() const {
  if (abandoned()) return false;
  if (failed_ && error_->kind == ConnectionErrorKind::kBadPreface) return false;
  return nghttp2_session_want_write(session_) != 0;
}

Result<void> Session::check_open(const Stream& stream, std::string_view what) const {
  if (abandoned() || failed_) {
    return fail(ErrorCode::kClosed, std::string(what) + ": the h2 connection is closed");
  }
  if (stream.owner_reset_ || stream.state_ == Stream::State::kClosed) {
    return fail(ErrorCode::kClosed,
                std::string(what) + ": stream " + std::to_string(stream.id()) + " is closed");
  }
  return {};
}

Result<void> Session::submit_head(Stream& stream, NvList& fields, bool final_head,
                                  bool end_stream) {
  if (auto open = check_open(stream, "submitting a head"); !open) return open;
  if (stream.head_queued_) {
    return fail(ErrorCode::kInvalidArgument,
                "stream " + std::to_string(stream.id()) + " already has its final head queued");
  }
  int rv = 0;
  if (!final_head) {
    if (end_stream) {
      return fail(ErrorCode::kInvalidArgument, "an informational head cannot end the stream");
    }
    rv = nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, stream.id(), nullptr, fields.data(),
                                fields.size(), nullptr);
  } else {
    nghttp2_data_provider provider;
    provider.source.ptr = &stream;
    provider.read_callback = &SessionCallbacks::read_data;
    rv = nghttp2_submit_response(session_, stream.id(), fields.data(), fields.size(),
                                 end_stream ? nullptr : &provider);
  }
  if (rv != 0) return library_failure("submitting a head", rv);
  if (final_head) {
    stream.head_queued_ = true;
    stream.end_queued_ = end_stream;
  }
  return {};
}

Result<void> Session::check_can_send(const Stream& stream, std::string_view what) const {
  if (auto open = check_open(stream, what); !open) return open;
  if (!stream.head_queued_ || stream.end_queued_) {
    return fail(ErrorCode::kInvalidArgument,
                std::string(what) + " on stream " + std::to_string(stream.id()) +
                    (stream.end_queued_ ? " after its end" : " before its head"));
  }
  return {};
}

Result<void> Session::send_data(Stream& stream, buffer::Buffer&& data, bool end_stream) {
  if (auto ok = check_can_send(stream, "send_data"); !ok) return ok;
  queued_bytes_ += data.size();
  stream.send_queue_.append(std::move(data));
  stream.end_queued_ = end_stream;
  resume(stream);
  return {};
}

Result<void> Session::send_data(Stream& stream, buffer::Slice data, bool end_stream) {
  if (auto ok = check_can_send(stream, "send_data"); !ok) return ok;
  queued_bytes_ += data.size();
  stream.send_queue_.append(std::move(data));
  stream.end_queued_ = end_stream;
  resume(stream);
  return {};
}

Result<void> Session::send_trailers(Stream& stream, const HeaderMap& trailers) {
  if (auto ok = check_can_send(stream, "send_trailers"); !ok) return ok;
  stream.send_trailers_ = trailers;
  stream.has_send_trailers_ = true;
  stream.end_queued_ = true;
  resume(stream);
  return {};
}

void Session::resume(Stream& stream) {
  if (!stream.data_deferred_) return;
  stream.data_deferred_ = false;
  nghttp2_session_resume_data(session_, stream.id());
}

void Session::reset(Stream& stream, Http2ErrorCode code) {
  if (abandoned() || stream.owner_reset_ || stream.state_ == Stream::State::kClosed) return;
  stream.owner_reset_ = true;
  const bool end_sent = stream.state_ == Stream::State::kHalfClosedLocal;
  if (code == Http2ErrorCode::kNoError && stream.end_queued_ && !end_sent) {
    // nghttp2_submit_rst_stream() marks the stream closing at once, and frames queued before
    // it then never go out: wait for END_STREAM (SessionCallbacks::on_frame_send).
    stream.rst_after_end_ = true;
    return;
  }
  stream.send_aborted_ = true;
  queued_bytes_ -= stream.send_queue_.size();
  stream.send_queue_.clear();
  // For a request whose HEADERS still wait (for produce() or a stream slot), this cancels
  // them instead: nothing goes on the wire, and the session closes the stream itself.
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id(), static_cast<uint32_t>(code));
  if (role_ == Role::kClient && stream.state_ == Stream::State::kIdle) {
    pending_closes_.push_back(stream.id());
  }
}

void Session::consume(StreamId id, size_t n) {
  if (n == 0 || abandoned()) return;
  if (Stream* stream = find_stream(id)) {
    stream->unconsumed_ -= std::min(n, stream->unconsumed_);
  }
  // Counts for the stream while nghttp2 still knows it, and always for the connection.
  nghttp2_session_consume(session_, id, n);
}

void Session::consume(Stream& stream, size_t n) {
  consume(stream.id(), n);
}

Result<void> Session::send_ping(uint64_t opaque) {
  if (abandoned() || failed_) return fail(ErrorCode::kClosed, "ping: the h2 connection is closed");
  if (opaque == kShutdownPingOpaque) {
    return fail(ErrorCode::kInvalidArgument, "ping: that opaque value is the session's own");
  }
  uint8_t data[8];
  for (int i = 7; i >= 0; --i) {
    data[i] = static_cast<uint8_t>(opaque);
    opaque >>= 8;
  }
  int rv = nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, data);
  if (rv != 0) return library_failure("ping", rv);
  return {};
}

void Session::graceful_shutdown() {
  if (abandoned() || failed_) return;
  if (role_ == Role::kClient) {
    // A client has no streams of the peer's to drain (no push): GOAWAY(0) at once stops new
    // streams from this side, and the ones in flight finish.
    if (shutdown_ == Shutdown::kNone) send_final_goaway();
    return;
  }
  switch (shutdown_) {
    case Shutdown::kNone: {
      // RFC 9113 §6.8: GOAWAY(2^31-1) first, so that requests the client sent before it saw
      // the GOAWAY are not refused; the PING's answer marks one round trip.
      nghttp2_submit_shutdown_notice(session_);
      uint8_t data[8];
      uint64_t opaque = kShutdownPingOpaque;
      for (int i = 7; i >= 0; --i) {
        data[i] = static_cast<uint8_t>(opaque);
        opaque >>= 8;
      }
      nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, data);
      shutdown_ = Shutdown::kNoticeSent;
      break;
    }
    case Shutdown::kNoticeSent: send_final_goaway(); break;
    case Shutdown::kGoawaySent: break;
  }
}

void Session::submit_final_goaway() {
  final_goaway_due_ = false;
  shutdown_ = Shutdown::kGoawaySent;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
}

void Session::terminate(Http2ErrorCode code) {
  if (abandoned() || failed_) return;
  owner_goaway_ = true;
  nghttp2_session_terminate_session(session_, static_cast<uint32_t>(code));
}

void Session::abandon() {
  if (abandoned_) return;
  abandon_requested_ = true;
  if (depth_ == 0) finish_abandon();
}

void Session::finish_abandon() {
  abandon_requested_ = false;
  abandoned_ = true;
  // Out of the map first: handlers may call back (consume, reset), which are no-ops now.
  std::vector<std::unique_ptr<Stream>> open = streams_.take_all();
  last_found_ = nullptr;
  queued_bytes_ = 0;
  std::sort(open.begin(), open.end(),
            [](const auto& a, const auto& b) { return a->id() < b->id(); });
  Http2ErrorCode code = error_ ? error_->code : Http2ErrorCode::kCancel;
  for (auto& stream : open) {
    if (!stream->announced_) continue;
    stream->closed();
    if (!stream->owner_reset_) handler_.on_stream_reset(*stream, code, ResetOrigin::kConnection);
    handler_.on_stream_closed(*stream);
  }
}

void Session::connection_failed(ConnectionError error) {
  if (failed_) return;
  failed_ = true;
  error_ = std::move(error);
  // Tell the peer why (RFC 9113 §5.4.1), unless a GOAWAY with the error is already queued or
  // sent (then this is a no-op) or the peer does not speak HTTP/2 at all.
  if (error_->kind != ConnectionErrorKind::kBadPreface) {
    nghttp2_session_terminate_session(session_, static_cast<uint32_t>(error_->code));
  }
  handler_.on_connection_error(*error_);
}

Stream& Session::add_stream(std::unique_ptr<Stream> stream) {
  Stream& s = streams_.insert(std::move(stream));
  last_found_ = &s;  // its head's callbacks come next
  return s;
}

void Session::remove_stream(StreamId id) {
  std::unique_ptr<Stream> stream = streams_.remove(id);
  if (stream == nullptr) return;
  queued_bytes_ -= stream->send_queue_.size();
  if (last_found_ == stream.get()) last_found_ = nullptr;
}

std::unique_ptr<Stream> Session::new_stream(StreamId id) {
  return std::unique_ptr<Stream>(new (blocks_) Stream(id, pool_, &blocks_));
}

Stream* Session::find_stream(StreamId id) {
  if (last_found_ != nullptr && last_found_->id() == id) return last_found_;
  Stream* stream = streams_.find(id);
  if (stream != nullptr) last_found_ = stream;
  return stream;
}

int32_t Session::send_window(const Stream& stream) const {
  int32_t w = nghttp2_session_get_stream_remote_window_size(session_, stream.id());
  return w < 0 ? -1 : w;
}

int32_t Session::connection_send_window() const {
  return nghttp2_session_get_remote_window_size(session_);
}

uint32_t Session::peer_max_concurrent_streams() const {
  return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

// ---- server ----

Result<std::unique_ptr<ServerSession>> ServerSession::create(Handler& handler,
                                                             buffer::ChunkPool& pool,
                                                             buffer::BlockPool& blocks,
                                                             const SessionConfig& config) {
  std::unique_ptr<ServerSession> s(new ServerSession(Role::kServer, handler, pool, blocks, config));
  if (auto started = s->start(); !started) return fail(started.error());
  return s;
}

Result<void> ServerSession::submit_response(Stream& stream, const ResponseHead& head,
                                            bool end_stream) {
  NvList& fields = *scratch_fields_;
  fields.clear();
  if (auto encoded = encode_response(head, fields); !encoded) return encoded;
  return submit_head(stream, fields, !head.informational(), end_stream);
}

// ---- client ----

Result<std::unique_ptr<ClientSession>> ClientSession::create(Handler& handler,
                                                             buffer::ChunkPool& pool,
                                                             buffer::BlockPool& blocks,
                                                             const SessionConfig& config) {
  std::unique_ptr<ClientSession> s(new ClientSession(Role::kClient, handler, pool, blocks, config));
  if (auto started = s->start(); !started) return fail(started.error());
  return s;
}

bool ClientSession::can_submit_request() const {
  return !abandoned() && !failed() && !goaway_received() && !shutting_down() &&
         nghttp2_session_check_request_allowed(session_) != 0;
}

Result<Stream*> ClientSession::submit_request(const RequestHead& head, bool end_stream) {
  if (!can_submit_request()) {
    return fail(ErrorCode::kClosed,
                "h2 connection takes no new streams (GOAWAY sent or received, ids used up, or "
                "closed)");
  }
  NvList& fields = *scratch_fields_;
  fields.clear();
  if (auto encoded = encode_request(head, fields); !encoded) return fail(encoded.error());
  // The stream exists before nghttp2 knows its id: the data provider points at it.
  auto stream = new_stream(0);
  nghttp2_data_provider provider;
  provider.source.ptr = stream.get();
  provider.read_callback = &SessionCallbacks::read_data;
  int32_t id = nghttp2_submit_request(session_, nullptr, fields.data(), fields.size(),
                                      end_stream ? nullptr : &provider, nullptr);
  if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
    return fail(ErrorCode::kClosed, "h2 stream ids used up: open a new connection");
  }
  if (id < 0) return library_failure("submitting a request", id);
  stream->id_ = id;
  stream->announced_ = true;
  stream->head_queued_ = true;
  stream->end_queued_ = end_stream;
  stream->request_was_head_ = head.method == "HEAD";
  return &add_stream(std::move(stream));
}

}  // namespace lmesh::http::h2
