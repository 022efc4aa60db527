// One HTTP/2 stream as its session's owner sees it: the heads and trailers the peer sent, the
// bytes queued to send, and the RFC 9113 §5.1 state.
//
// A Stream belongs to its Session. The owner may keep a pointer to it from the callback that
// introduces it (Session::Handler::on_request_head on a server, ClientSession::submit_request
// on a client) until Session::Handler::on_stream_closed returns; the session frees it then.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <optional>
#include <string>

#include "common/buffer/block_pool.h"
#include "common/buffer/buffer.h"
#include "common/http/h2/error.h"
#include "common/http/message.h"

namespace lmesh::http::h2 {

using StreamId = int32_t;

class Stream : public buffer::PoolAllocated {
 public:
  // RFC 9113 §5.1, without the reserved states: lmesh neither sends nor accepts server push.
  enum class State : uint8_t {
    kIdle,
    kOpen,
    kHalfClosedLocal,   // this side sent END_STREAM
    kHalfClosedRemote,  // the peer sent END_STREAM
    kClosed,
  };

  // Header maps and the send queue's slice list take their storage from `memory`.
  Stream(StreamId id, buffer::ChunkPool& pool, std::pmr::memory_resource* memory)
      : id_(id),
        request_{.headers = HeaderMap(memory)},
        response_{.headers = HeaderMap(memory)},
        trailers_(memory),
        send_queue_(pool, memory),
        send_trailers_(memory) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  StreamId id() const { return id_; }
  State state() const { return state_; }

  // What the peer sent. A server fills request() (complete when on_request_head runs); a
  // client fills response() (each 1xx head in turn, then the final one). The owner may move
  // from them.
  RequestHead& request() { return request_; }
  const RequestHead& request() const { return request_; }
  ResponseHead& response() { return response_; }
  const ResponseHead& response() const { return response_; }
  HeaderMap& trailers() { return trailers_; }
  const HeaderMap& trailers() const { return trailers_; }

  // Bytes given to Session::send_data() that have not gone into DATA frames yet: waiting
  // for flow-control window or for the next produce(). The owner's write watermark.
  size_t queued_bytes() const { return send_queue_.size(); }
  // Body bytes delivered by on_data() and not yet given back with Session::consume(): the
  // part of the peer's window this stream holds.
  size_t unconsumed_bytes() const { return unconsumed_; }

  // The peer sent END_STREAM (its message is complete) / this side's END_STREAM is queued.
  bool remote_ended() const { return remote_ended_; }
  bool local_end_queued() const { return end_queued_; }

  // For the owner: what this stream is to it (e.g. its proxy stream). Not touched here.
  void* context() const { return context_; }
  void set_context(void* context) { context_ = context; }

 private:
  friend class Session;
  friend class ClientSession;
  friend struct SessionCallbacks;

  // Frame events (RFC 9113 §5.1) as the session sees frames go out and come in.
  void headers_sent(bool end_stream);
  void headers_received(bool end_stream);
  void end_sent();
  void end_received();
  void closed();
  void transition(State to);

  StreamId id_;
  State state_ = State::kIdle;
  void* context_ = nullptr;

  // Receiving.
  RequestHead request_;
  ResponseHead response_;
  HeaderMap trailers_;
  size_t header_block_bytes_ = 0;    // of the header block being received, as §6.5.2 counts
  bool head_received_ = false;       // server: the request head; client: the final response
  bool receiving_trailers_ = false;  // the header block being received is a trailer section
  bool header_block_too_large_ = false;
  bool announced_ = false;  // the owner knows this stream (server: on_request_head has run)
  bool discard_ = false;    // the session gave up on it: deliver nothing more
  bool rejected_ = false;   // server: refused before the owner saw it (answered 431)
  std::string reject_reason_;
  bool request_was_head_ = false;  // client: responses carry no body (RFC 9110 §9.3.2)
  bool remote_ended_ = false;
  size_t unconsumed_ = 0;

  // Sending.
  buffer::Buffer send_queue_;
  HeaderMap send_trailers_;
  bool head_queued_ = false;  // the final head (server: response; client: request)
  bool end_queued_ = false;   // END_STREAM queued: in the head, after data, or trailers
  bool has_send_trailers_ = false;
  bool data_deferred_ = false;  // the data provider returned NGHTTP2_ERR_DEFERRED
  bool owner_reset_ = false;    // the owner called Session::reset()
  bool send_aborted_ = false;   // queued bytes dropped: send nothing more
  bool rst_after_end_ = false;  // RST_STREAM(NO_ERROR) once END_STREAM is out (§8.1)

  // Why it ended, when it did not end cleanly: set by the first RST_STREAM in or out, or by
  // the session giving up on it.
  std::optional<ResetOrigin> reset_origin_;
  std::string reset_reason_;
};

std::string_view to_string(Stream::State state);

}  // namespace lmesh::http::h2
