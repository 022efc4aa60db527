#include "common/http/h2/session_callbacks.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string_view>

#include "common/http/h2/frame_sink.h"
#include "common/http/h2/headers_map.h"
#include "common/http/h2/library_errors.h"
#include "common/http/h2/session.h"

namespace lmesh::http::h2 {
namespace {

Session& self(void* user_data) {
  return *static_cast<Session*>(user_data);
}

std::string_view view(const uint8_t* p, size_t n) {
  return n == 0 ? std::string_view() : std::string_view(reinterpret_cast<const char*>(p), n);
}

bool has_flag(const nghttp2_frame* frame, uint8_t flag) {
  return (frame->hd.flags & flag) != 0;
}

uint64_t ping_opaque(const nghttp2_frame* frame) {
  uint64_t v = 0;
  for (uint8_t b : frame->ping.opaque_data) v = (v << 8) | b;
  return v;
}

}  // namespace

bool SessionCallbacks::delivering(const Session& s, const Stream& stream) {
  return !s.abandoned() && stream.announced_ && !stream.owner_reset_ && !stream.discard_;
}

template <class R, class Fn>
R SessionCallbacks::guarded(void* user_data, R failure, Fn&& body) noexcept {
  try {
    return body();
  } catch (...) {
    self(user_data).callback_threw_ = true;
    return failure;
  }
}

void SessionCallbacks::install(nghttp2_session_callbacks* c) {
  nghttp2_session_callbacks_set_on_begin_headers_callback(c, &on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(c, &on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(c, &on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, &on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(c, &on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(c, &on_frame_send);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(c, &on_frame_not_send);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(c, &on_invalid_frame_recv);
  nghttp2_session_callbacks_set_error_callback2(c, &on_error);
  nghttp2_session_callbacks_set_send_data_callback(c, &send_data);
}

int SessionCallbacks::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame,
                                       void* user_data) {
  return guarded(user_data, int{NGHTTP2_ERR_CALLBACK_FAILURE}, [&] {
    Session& s = self(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS || s.abandoned()) return 0;
    Stream* stream = s.find_stream(frame->hd.stream_id);
    if (stream == nullptr && s.role_ == Session::Role::kServer &&
        frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      // nghttp2 has checked the id and the concurrency limit already.
      stream = &s.add_stream(s.new_stream(frame->hd.stream_id));
    }
    if (stream == nullptr) return 0;
    stream->header_block_bytes_ = 0;
    stream->header_block_too_large_ = false;
    if (stream->head_received_) {
      stream->receiving_trailers_ = true;
      stream->trailers_.clear();
    } else if (s.role_ == Session::Role::kClient) {
      stream->response_.clear();  // each 1xx head, then the final one, starts afresh
    }
    return 0;
  });
}

int SessionCallbacks::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                                size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                                void* user_data) {
  return guarded(user_data, int{NGHTTP2_ERR_CALLBACK_FAILURE}, [&] {
    Session& s = self(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    Stream* stream = s.find_stream(frame->hd.stream_id);
    if (stream == nullptr || stream->owner_reset_ || stream->discard_) return 0;
    // RFC 9113 §6.5.2 counts 32 bytes of overhead per field. Past the limit, fields are still
    // decoded (HPACK state must stay in step, §4.3) but no longer kept.
    stream->header_block_bytes_ += namelen + valuelen + 32;
    if (stream->header_block_bytes_ > s.config_.max_header_list_size) {
      stream->header_block_too_large_ = true;
    }
    if (stream->header_block_too_large_) return 0;
    std::string_view n = view(name, namelen);
    std::string_view v = view(value, valuelen);
    if (stream->receiving_trailers_) {
      stream->trailers_.add(n, v);
    } else if (s.role_ == Session::Role::kServer) {
      add_request_field(stream->request_, n, v);
    } else {
      add_response_field(stream->response_, n, v);
    }
    return 0;
  });
}

// A complete header block over SETTINGS_MAX_HEADER_LIST_SIZE. A server answers a request head
// with 431 without showing the owner (RFC 9113 §10.5.1) and, if the request goes on, asks the
// client to stop with RST_STREAM(NO_ERROR) (§8.1). Anything else is abandoned with
// RST_STREAM(CANCEL): the receiver discards what it cannot process (§10.5.1).
void SessionCallbacks::header_block_too_large(Session& s, Stream& stream, bool end_stream) {
  std::string reason = "header list over " + std::to_string(s.config_.max_header_list_size) +
                       " bytes (SETTINGS_MAX_HEADER_LIST_SIZE)";
  stream.discard_ = true;
  if (!stream.announced_) {
    stream.reject_reason_ = reason;
    stream.rejected_ = true;
    nghttp2_nv status{reinterpret_cast<uint8_t*>(const_cast<char*>(":status")),
                      reinterpret_cast<uint8_t*>(const_cast<char*>("431")), 7, 3,
                      NGHTTP2_NV_FLAG_NONE};
    nghttp2_submit_response(s.session_, stream.id(), &status, 1, nullptr);
    stream.head_queued_ = true;
    stream.end_queued_ = true;
    stream.rst_after_end_ = !end_stream;  // after the 431 is out, or it would be dropped
    return;
  }
  stream.reset_reason_ = reason;
  stream.reset_origin_ = ResetOrigin::kSession;
  nghttp2_submit_rst_stream(s.session_, NGHTTP2_FLAG_NONE, stream.id(), NGHTTP2_CANCEL);
}

int SessionCallbacks::on_headers_recv(Session& s, const nghttp2_frame* frame) {
  Stream* stream = s.find_stream(frame->hd.stream_id);
  if (stream == nullptr) return 0;
  const bool end = has_flag(frame, NGHTTP2_FLAG_END_STREAM);
  stream->headers_received(end);
  if (stream->owner_reset_ || stream->discard_) return 0;
  Session::Handler& h = s.handler_;
  if (stream->header_block_too_large_) {
    header_block_too_large(s, *stream, end);
    return 0;
  }
  if (stream->receiving_trailers_) {
    if (delivering(s, *stream)) h.on_trailers(*stream);
    if (delivering(s, *stream)) h.on_stream_end(*stream);
    return 0;
  }
  if (s.role_ == Session::Role::kServer) {
    finish_request_head(stream->request_, end);
    stream->head_received_ = true;
    stream->announced_ = true;
    h.on_request_head(*stream, end);
  } else {
    finish_response_head(stream->response_, end, stream->request_was_head_);
    if (!stream->response_.informational()) stream->head_received_ = true;
    h.on_response_head(*stream, end);
  }
  if (end && delivering(s, *stream)) h.on_stream_end(*stream);
  return 0;
}

int SessionCallbacks::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  return guarded(user_data, int{NGHTTP2_ERR_CALLBACK_FAILURE}, [&] {
    Session& s = self(user_data);
    if (s.abandoned()) return 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: return on_headers_recv(s, frame);
      case NGHTTP2_DATA: {
        if (!has_flag(frame, NGHTTP2_FLAG_END_STREAM)) return 0;
        Stream* stream = s.find_stream(frame->hd.stream_id);
        if (stream == nullptr) return 0;
        stream->end_received();
        if (delivering(s, *stream)) s.handler_.on_stream_end(*stream);
        return 0;
      }
      case NGHTTP2_RST_STREAM: {
        ++s.resets_received_;
        Stream* stream = s.find_stream(frame->hd.stream_id);
        if (stream != nullptr && !stream->reset_origin_) stream->reset_origin_ = ResetOrigin::kPeer;
        return 0;
      }
      case NGHTTP2_GOAWAY: {
        // nghttp2 calls this before it closes the streams above last_stream_id, so their
        // on_stream_close below knows they were refused.
        s.goaway_received_ = true;
        s.goaway_last_stream_id_ = frame->goaway.last_stream_id;
        s.handler_.on_goaway(frame->goaway.last_stream_id,
                             static_cast<Http2ErrorCode>(frame->goaway.error_code),
                             view(frame->goaway.opaque_data, frame->goaway.opaque_data_len));
        return 0;
      }
      case NGHTTP2_PING: {
        if (!has_flag(frame, NGHTTP2_FLAG_ACK)) return 0;
        uint64_t opaque = ping_opaque(frame);
        if (opaque == Session::kShutdownPingOpaque) {
          if (s.shutdown_ == Session::Shutdown::kNoticeSent) s.send_final_goaway();
        } else {
          s.handler_.on_ping_ack(opaque);
        }
        return 0;
      }
      default: return 0;
    }
  });
}

int SessionCallbacks::on_data_chunk_recv(nghttp2_session* session, uint8_t, int32_t stream_id,
                                         const uint8_t* data, size_t len, void* user_data) {
  return guarded(user_data, int{NGHTTP2_ERR_CALLBACK_FAILURE}, [&] {
    Session& s = self(user_data);
    Stream* stream = s.find_stream(stream_id);
    if (stream == nullptr || !delivering(s, *stream)) {
      // Nobody will pass these on: give the window back at once.
      nghttp2_session_consume(session, stream_id, len);
      return 0;
    }
    stream->unconsumed_ += len;
    const char* p = reinterpret_cast<const char*>(data);
    const buffer::Slice* in = s.input_;
    const auto at = reinterpret_cast<uintptr_t>(p);
    const auto begin = in != nullptr ? reinterpret_cast<uintptr_t>(in->data()) : 0;
    if (in != nullptr && at >= begin && at + len <= begin + in->size()) {
      // DATA payloads are never buffered by nghttp2: they point into feed()'s input, so the
      // owner gets a slice of the bytes that were read, not a copy.
      s.handler_.on_data(*stream, in->sub(at - begin, len));
      return 0;
    }
    while (len > 0) {
      size_t n = std::min(len, s.pool_.chunk_size());
      buffer::Chunk* c = s.pool_.acquire();
      std::memcpy(c->data(), p, n);
      c->fill = static_cast<uint32_t>(n);
      s.handler_.on_data(*stream, buffer::Slice(c, 0, n));
      p += n;
      len -= n;
      // The owner may have reset it (or everything) from on_data: no more deliveries then.
      if (!delivering(s, *stream)) break;
    }
    return 0;
  });
}

int SessionCallbacks::on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                                      void* user_data) {
  return guarded(user_data, int{NGHTTP2_ERR_CALLBACK_FAILURE}, [&] {
    Session& s = self(user_data);
    Stream* stream = s.abandoned() ? nullptr : s.find_stream(stream_id);
    if (stream != nullptr) s.finish_stream(*stream, static_cast<Http2ErrorCode>(error_code));
    return 0;
  });
}

int SessionCallbacks::on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  return guarded(user_data, int{NGHTTP2_ERR_CALLBACK_FAILURE}, [&] {
    Session& s = self(user_data);
    if (s.abandoned()) return 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
      case NGHTTP2_DATA: {
        Stream* stream = s.find_stream(frame->hd.stream_id);
        if (stream == nullptr) return 0;
        const bool end = has_flag(frame, NGHTTP2_FLAG_END_STREAM);
        if (frame->hd.type == NGHTTP2_HEADERS) {
          stream->headers_sent(end);
        } else {
          if (end) stream->end_sent();
          if (frame->hd.length > 0 && delivering(s, *stream)) {
            s.handler_.on_data_sent(*stream);
          }
        }
        if (end && stream->rst_after_end_ && stream->state_ != Stream::State::kClosed) {
          stream->rst_after_end_ = false;
          nghttp2_submit_rst_stream(s.session_, NGHTTP2_FLAG_NONE, stream->id(), NGHTTP2_NO_ERROR);
        }
        return 0;
      }
      case NGHTTP2_RST_STREAM: {
        Stream* stream = s.find_stream(frame->hd.stream_id);
        if (stream != nullptr && !stream->reset_origin_) {
          // Not the owner's: nghttp2 found a stream error (§5.4.2), or a limit of ours did.
          stream->reset_origin_ = ResetOrigin::kSession;
          if (stream->reset_reason_.empty()) stream->reset_reason_ = s.last_library_error_;
        }
        return 0;
      }
      case NGHTTP2_GOAWAY: {
        auto code = static_cast<Http2ErrorCode>(frame->goaway.error_code);
        if (code == Http2ErrorCode::kNoError || s.owner_goaway_ || s.failed_) return 0;
        // nghttp2 ended the connection on what it received (§5.4.1); its reason is in the
        // GOAWAY's debug data when it gave one.
        std::string reason(view(frame->goaway.opaque_data, frame->goaway.opaque_data_len));
        if (reason.empty()) reason = s.last_library_error_;
        if (reason.empty()) reason = std::string(to_string(code)) + " sent to the peer";
        ConnectionError error{connection_error_kind(code), code, std::move(reason)};
        // nghttp2's RST_STREAM rate limit (CVE-2023-44487) sends GOAWAY(INTERNAL_ERROR) without
        // ending the session; its token bucket can only run dry after `reset_burst` resets.
        if (s.role_ == Session::Role::kServer && code == Http2ErrorCode::kInternalError &&
            s.resets_received_ >= s.config_.reset_burst) {
          error = ConnectionError{
              ConnectionErrorKind::kFlood, Http2ErrorCode::kEnhanceYourCalm,
              "flood: RST_STREAM over " + std::to_string(s.config_.reset_burst) + " at " +
                  std::to_string(s.config_.reset_rate_per_second) + "/s (rapid reset)"};
        }
        s.connection_failed(std::move(error));
        return 0;
      }
      default: return 0;
    }
  });
}

int SessionCallbacks::on_frame_not_send(nghttp2_session*, const nghttp2_frame* frame,
                                        int lib_error_code, void* user_data) {
  return guarded(user_data, int{NGHTTP2_ERR_CALLBACK_FAILURE}, [&] {
    Session& s = self(user_data);
    Stream* stream = s.abandoned() ? nullptr : s.find_stream(frame->hd.stream_id);
    if (stream == nullptr) return 0;
    if (stream->reset_reason_.empty()) {
      stream->reset_reason_ = std::string("frame not sent: ") + nghttp2_strerror(lib_error_code);
    }
    if (frame->hd.type != NGHTTP2_HEADERS || stream->state_ != Stream::State::kIdle) return 0;
    // A request whose HEADERS never went out. nghttp2 calls on_stream_close for it only if it
    // had opened the stream, which depends on why the frame failed: finish it here.
    // START_STREAM_NOT_ALLOWED: a GOAWAY came first, so the peer never saw it (§8.7);
    // anything else (e.g. a header block over nghttp2's 64 KiB send limit) will fail again.
    bool refused = lib_error_code == NGHTTP2_ERR_START_STREAM_NOT_ALLOWED;
    if (!stream->reset_origin_) {
      stream->reset_origin_ = refused ? ResetOrigin::kRefused : ResetOrigin::kSession;
    }
    s.finish_stream(*stream,
                    refused ? Http2ErrorCode::kRefusedStream : Http2ErrorCode::kInternalError);
    return 0;
  });
}

int SessionCallbacks::on_invalid_frame_recv(nghttp2_session*, const nghttp2_frame* frame,
                                            int lib_error_code, void* user_data) {
  return guarded(user_data, int{NGHTTP2_ERR_CALLBACK_FAILURE}, [&] {
    Session& s = self(user_data);
    // nghttp2 reports the details through on_error first for some errors only.
    std::string reason = s.last_library_error_code_ == lib_error_code
                             ? s.last_library_error_
                             : std::string(nghttp2_strerror(lib_error_code));
    s.last_library_error_ = reason;
    s.last_library_error_code_ = lib_error_code;
    Stream* stream = s.find_stream(frame->hd.stream_id);
    if (stream != nullptr) {
      if (stream->reset_reason_.empty()) stream->reset_reason_ = reason;
    } else if (lib_error_code == NGHTTP2_ERR_REFUSED_STREAM && frame->hd.type == NGHTTP2_HEADERS &&
               !s.abandoned()) {
      // Refused before a stream existed: over SETTINGS_MAX_CONCURRENT_STREAMS.
      s.handler_.on_stream_rejected(frame->hd.stream_id, Http2ErrorCode::kRefusedStream,
                                    "over SETTINGS_MAX_CONCURRENT_STREAMS");
    }
    return 0;
  });
}

int SessionCallbacks::on_error(nghttp2_session*, int lib_error_code, const char* msg, size_t len,
                               void* user_data) {
  return guarded(user_data, int{NGHTTP2_ERR_CALLBACK_FAILURE}, [&] {
    Session& s = self(user_data);
    s.last_library_error_.assign(msg, len);
    s.last_library_error_code_ = lib_error_code;
    return 0;
  });
}

ssize_t SessionCallbacks::read_data(nghttp2_session* session, int32_t stream_id, uint8_t*,
                                    size_t length, uint32_t* data_flags,
                                    nghttp2_data_source* source, void* user_data) {
  return guarded(user_data, ssize_t{NGHTTP2_ERR_CALLBACK_FAILURE}, [&]() -> ssize_t {
    Stream& stream = *static_cast<Stream*>(source->ptr);
    // Nothing to send yet (or the owner reset it and RST_STREAM is on its way): nghttp2 sets
    // the stream aside until Session::resume() calls nghttp2_session_resume_data().
    size_t queued = stream.send_queue_.size();
    if (stream.send_aborted_ || (queued == 0 && !stream.end_queued_)) {
      stream.data_deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = std::min(length, queued);
    // The payload goes out through send_data() below, as slices of the queue.
    if (n > 0) *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == queued && stream.end_queued_) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (stream.has_send_trailers_) {
        NvList fields;
        encode_trailers(stream.send_trailers_, fields);
        // All-connection-specific trailers leave nothing to send: END_STREAM on DATA then.
        if (fields.size() > 0 &&
            nghttp2_submit_trailer(session, stream_id, fields.data(), fields.size()) == 0) {
          *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
      }
    }
    (void)self(user_data);
    return static_cast<ssize_t>(n);
  });
}

int SessionCallbacks::send_data(nghttp2_session*, nghttp2_frame* frame, const uint8_t* framehd,
                                size_t length, nghttp2_data_source* source, void* user_data) {
  return guarded(user_data, int{NGHTTP2_ERR_CALLBACK_FAILURE}, [&] {
    Session& s = self(user_data);
    Stream& stream = *static_cast<Stream*>(source->ptr);
    if (s.sink_ == nullptr || stream.send_queue_.size() < length) {
      return int{NGHTTP2_ERR_CALLBACK_FAILURE};  // a bug: read_data promised these bytes
    }
    FrameSink& sink = *s.sink_;
    sink.copy(view(framehd, 9));
    const size_t padlen = frame->data.padlen;  // counts the Pad Length byte itself (§6.1)
    if (padlen > 0) {
      char pad_length = static_cast<char>(padlen - 1);
      sink.copy(std::string_view(&pad_length, 1));
    }
    if (length < s.config_.copy_data_below) {
      sink.copy_prefix(stream.send_queue_, length);
    } else {
      sink.move(stream.send_queue_, length);
    }
    s.queued_bytes_ -= length;
    static constexpr char kZeros[256] = {};
    for (size_t left = padlen > 1 ? padlen - 1 : 0; left > 0;) {
      size_t n = std::min(left, sizeof(kZeros));
      sink.copy(std::string_view(kZeros, n));
      left -= n;
    }
    return 0;
  });
}

}  // namespace lmesh::http::h2
