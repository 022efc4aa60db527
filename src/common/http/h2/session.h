// An HTTP/2 connection's protocol state on libnghttp2, independent of any I/O.
//
// The owner (a TCP connection, a TLS transport, a test) moves bytes: it hands what it read to
// feed(), and after each batch of reads or submissions calls produce() and writes what that
// appended. Everything else is nghttp2: framing, HPACK, stream states, flow-control
// accounting, and the validation RFC 9113 asks of a server and a client (its HTTP messaging
// checks stay on). Two sessions wired back to back in memory are a full HTTP/2 exchange.
//
//   on read:       if (!session.feed(slice)) { ...stop reading; flush, then close... }
//   after a batch: session.produce(write_queue); write it;
//                  if (!session.want_read() && !session.want_write()) close;
//   body bytes:    on_data() gives Slices of what was read; consume() them once passed on.
//
// Flow control is wired to backpressure (RFC 9113 §5.2): nghttp2's automatic WINDOW_UPDATE is
// off, so the peer's window reopens only when the owner consume()s delivered bytes. A slow
// reader downstream therefore stalls the sender upstream instead of growing a buffer here.
// Sending, send_data() queues per stream; nghttp2 pulls from the queue as windows allow, and
// Stream::queued_bytes() is what the owner puts its own watermark on.
//
// Not thread-safe: a session lives on its worker's loop. Callbacks run inside feed() and
// produce(); they may call any method of the session except produce() and feed(), but must not
// destroy it (defer that, STYLE.md §4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer/block_pool.h"
#include "common/buffer/buffer.h"
#include "common/buffer/slice.h"
#include "common/http/h2/config.h"
#include "common/http/h2/error.h"
#include "common/http/h2/stream.h"
#include "common/http/h2/stream_table.h"
#include "common/http/message.h"
#include "common/result.h"

struct nghttp2_session;

namespace lmesh::http::h2 {

class FrameSink;
class NvList;
struct SessionCallbacks;

class Session {
 public:
  enum class Role : uint8_t { kServer, kClient };

  // What a session tells its owner. Per stream the calls come in protocol order: a head,
  // data, trailers, end; a reset, if any; then on_stream_closed, always last.
  class Handler {
   public:
    virtual ~Handler() = default;

    // Server: a request head arrived on a new stream (stream.request()). `end_stream`: no body
    // follows (on_stream_end comes next).
    virtual void on_request_head(Stream& stream, bool end_stream) {
      (void)stream;
      (void)end_stream;
    }
    // Client: a response head arrived (stream.response()): each informational (1xx) one, then
    // the final one (RFC 9113 §8.1).
    virtual void on_response_head(Stream& stream, bool end_stream) {
      (void)stream;
      (void)end_stream;
    }
    // Body bytes, as slices of what feed() was given. Call Session::consume() for them once
    // they are passed on; until then they count against the peer's windows.
    virtual void on_data(Stream& stream, buffer::Slice data) = 0;
    // The peer's trailer section (stream.trailers()); on_stream_end follows.
    virtual void on_trailers(Stream& stream) { (void)stream; }
    // The peer ended its side of the stream (END_STREAM): its message is complete.
    virtual void on_stream_end(Stream& stream) { (void)stream; }
    // The stream ended unfinished, for any reason but the owner's own reset(): RST_STREAM from
    // the peer, a stream error the session detected, refused by GOAWAY, or the connection
    // ended. on_stream_closed follows.
    virtual void on_stream_reset(Stream& stream, Http2ErrorCode code, ResetOrigin origin) {
      (void)stream;
      (void)code;
      (void)origin;
    }
    // Last call for the stream; the Stream is freed when this returns. Body bytes delivered
    // and not yet consumed still count against the connection window: consume() them by id.
    virtual void on_stream_closed(Stream& stream) = 0;

    // Server: the session reset a stream the owner never saw (a malformed request head, one
    // over the header list limit, or one over SETTINGS_MAX_CONCURRENT_STREAMS), reported when
    // its RST_STREAM (or 431 answer) goes out. For metrics and logs; nothing to clean up.
    virtual void on_stream_rejected(StreamId id, Http2ErrorCode code, std::string_view reason) {
      (void)id;
      (void)code;
      (void)reason;
    }

    // The peer sent GOAWAY: streams above `last_stream_id` were not processed and have been
    // reset with ResetOrigin::kRefused; no new streams may start (RFC 9113 §6.8).
    virtual void on_goaway(StreamId last_stream_id, Http2ErrorCode code, std::string_view debug) {
      (void)last_stream_id;
      (void)code;
      (void)debug;
    }
    // The peer acknowledged a PING sent with send_ping().
    virtual void on_ping_ack(uint64_t opaque) { (void)opaque; }
    // The connection failed: the session has queued a GOAWAY with the error (produce() and
    // flush it), accepts no more input, and want_read() is false. Called once. Streams still
    // open hear nothing more until the owner calls abandon(), e.g. once the GOAWAY is written.
    virtual void on_connection_error(const ConnectionError& error) { (void)error; }
    // Body bytes of `stream` went into frames during produce(): its queue shrank, so the owner
    // may resume reading whatever feeds it.
    virtual void on_data_sent(Stream& stream) { (void)stream; }
  };

  virtual ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Role role() const { return role_; }

  // Processes bytes read from the peer; callbacks run from here. Fails once the connection
  // has failed (the error also went to on_connection_error).
  Result<void> feed(const buffer::Slice& data);
  // Appends every frame that is ready to `out`: DATA payloads as the owner's slices, the rest
  // copied. Call after each batch of feed()s and submissions.
  void produce(buffer::Buffer& out);

  // The session still expects input / has frames to produce. Both false: the connection is
  // done (both sides' GOAWAY handled, or a connection error was flushed) and may be closed.
  bool want_read() const;
  bool want_write() const;

  // Queues body bytes; `end_stream` ends this side of the stream after them. Needs the final
  // head queued without END_STREAM (submit_response / submit_request).
  Result<void> send_data(Stream& stream, buffer::Buffer&& data, bool end_stream);
  Result<void> send_data(Stream& stream, buffer::Slice data, bool end_stream);
  // Queues a trailer section after the queued data; it ends this side of the stream (§8.1).
  Result<void> send_trailers(Stream& stream, const HeaderMap& trailers);
  // Abandons the stream with RST_STREAM(code) and drops its queued bytes. No on_stream_reset
  // follows for it, only on_stream_closed. No-op once reset or closed.
  // With kNoError after this side's message is complete (END_STREAM queued), nothing queued is
  // dropped: the RST_STREAM follows the message and only stops the peer's upload (RFC 9113
  // §8.1), e.g. a server's early 413 answer to a request body it will not read.
  // Body bytes already delivered and not consumed still hold the connection window: consume()
  // them (stream.unconsumed_bytes()) when dropping them.
  void reset(Stream& stream, Http2ErrorCode code);

  // The owner passed on `n` body bytes of the stream: reopen the peer's windows by that much.
  // Works after the stream closed (then only the connection window reopens).
  void consume(StreamId id, size_t n);
  void consume(Stream& stream, size_t n);

  // Queues a PING; on_ping_ack(opaque) reports the answer. The owner runs the timer.
  // kShutdownPingOpaque is the session's own (graceful_shutdown()) and is refused.
  Result<void> send_ping(uint64_t opaque);
  static constexpr uint64_t kShutdownPingOpaque = 0x6c6d657368474f41;  // "lmeshGOA"

  // Starts a graceful shutdown (RFC 9113 §6.8). A server sends GOAWAY(2^31-1) as a notice and
  // a PING; when the PING is answered (one round trip later, so requests already in flight
  // have arrived) it sends GOAWAY with the last stream it processed. Calling again before that
  // sends the final GOAWAY at once (the owner's shutdown timer ran out). A client sends its
  // GOAWAY at once and opens no more streams. Streams already started finish either way.
  void graceful_shutdown();
  // Ends the connection now with GOAWAY(code). Produce and write it, then abandon(): that
  // reports the streams still open.
  void terminate(Http2ErrorCode code);
  // The transport is gone (peer closed, write failed) or is being dropped: every stream still
  // open is reset with ResetOrigin::kConnection and closed, and the session does nothing more.
  // Inside a callback, it takes effect when the current feed() or produce() returns.
  void abandon();

  Stream* find_stream(StreamId id);
  // Streams not yet closed. A stream being closed no longer counts, so a handler deciding in
  // on_stream_closed() whether the connection went idle sees it gone.
  size_t stream_count() const {
    return streams_.size() > finishing_streams_ ? streams_.size() - finishing_streams_ : 0;
  }
  // Queued body bytes over all streams.
  size_t queued_bytes() const { return queued_bytes_; }
  // Bytes the peer's windows let this side send now: on the stream (-1 if it is not open
  // yet) and on the connection.
  int32_t send_window(const Stream& stream) const;
  int32_t connection_send_window() const;
  // The peer's SETTINGS_MAX_CONCURRENT_STREAMS (until its SETTINGS arrive, the assumption).
  uint32_t peer_max_concurrent_streams() const;
  bool goaway_received() const { return goaway_received_; }
  bool failed() const { return failed_; }

 protected:
  enum class Shutdown : uint8_t { kNone, kNoticeSent, kGoawaySent };

  // nghttp2 allocates from `blocks`; both pools must outlive the session.
  Session(Role role, Handler& handler, buffer::ChunkPool& pool, buffer::BlockPool& blocks,
          const SessionConfig& config);
  Result<void> start();

  // Queues a head on `stream`: a final one (response or request) with a data provider unless
  // `end_stream`, or an informational one.
  Result<void> submit_head(Stream& stream, NvList& fields, bool final_head, bool end_stream);
  // A stream for add_stream(), made from the worker's BlockPool like its header maps.
  std::unique_ptr<Stream> new_stream(StreamId id);
  // Owns a stream from here on.
  Stream& add_stream(std::unique_ptr<Stream> stream);
  bool abandoned() const { return abandoned_ || abandon_requested_; }
  bool shutting_down() const { return shutdown_ != Shutdown::kNone; }
  // Fails when the session or the stream no longer takes submissions.
  Result<void> check_open(const Stream& stream, std::string_view what) const;
  // Fails unless body bytes or trailers may be queued now: after the final head, before the end.
  Result<void> check_can_send(const Stream& stream, std::string_view what) const;

  nghttp2_session* session_ = nullptr;
  Handler& handler_;
  buffer::ChunkPool& pool_;
  buffer::BlockPool& blocks_;
  SessionConfig config_;
  StreamTable streams_;
  size_t finishing_streams_ = 0;  // inside finish_stream()'s callbacks
  // The header list every submit_*() builds, reused so that its storage is allocated once per
  // session rather than once per head. Only used within one submit call (nghttp2 copies it).
  std::unique_ptr<NvList> scratch_fields_;

 private:
  friend struct SessionCallbacks;

  // The stream is over: tells the owner (reset if it did not end cleanly, then closed, or
  // rejected if it never saw it) and frees it.
  void finish_stream(Stream& stream, Http2ErrorCode code);
  void finish_pending_closes();
  void remove_stream(StreamId id);
  void resume(Stream& stream);
  void connection_failed(ConnectionError error);
  void finish_abandon();
  // The final GOAWAY names the last stream processed when it is produced, not when it was
  // asked for: a stream that arrives in between is then processed rather than accepted and
  // refused later (nghttp2 takes new streams until its GOAWAY is actually sent).
  void send_final_goaway() {
    shutdown_ = Shutdown::kGoawaySent;
    final_goaway_due_ = true;
  }
  void submit_final_goaway();
  // After a feed() or produce(): finishes what callbacks asked for.
  void leave();

  Role role_;
  // The stream find_stream() returned last: nghttp2 names the stream in every callback, one
  // per header field of a head, so the next lookup is usually for the same one.
  Stream* last_found_ = nullptr;
  FrameSink* sink_ = nullptr;             // during produce()
  const buffer::Slice* input_ = nullptr;  // during feed()
  int depth_ = 0;                         // feed()/produce() frames on the stack
  size_t queued_bytes_ = 0;
  Shutdown shutdown_ = Shutdown::kNone;
  bool final_goaway_due_ = false;
  // Client streams reset before their HEADERS went out: nghttp2 drops those HEADERS without
  // ever opening the stream, so no on_stream_close comes; closed at the end of feed/produce.
  std::vector<StreamId> pending_closes_;
  uint64_t resets_received_ = 0;  // RST_STREAM frames from the peer
  bool goaway_received_ = false;
  StreamId goaway_last_stream_id_ = 0;
  bool owner_goaway_ = false;  // the owner asked for the GOAWAY that ends the connection
  bool failed_ = false;
  bool abandon_requested_ = false;
  bool abandoned_ = false;
  std::optional<ConnectionError> error_;
  std::string last_library_error_;  // nghttp2's words for the latest problem, for reasons
  int last_library_error_code_ = 0;
  bool callback_threw_ = false;
};

class ServerSession final : public Session {
 public:
  static Result<std::unique_ptr<ServerSession>> create(Handler& handler, buffer::ChunkPool& pool,
                                                       buffer::BlockPool& blocks,
                                                       const SessionConfig& config = {});

  // Queues a response head. An informational (1xx) head may come before the final one, e.g.
  // 100 Continue (RFC 9110 §15.2.1). Without `end_stream`, send_data()/send_trailers() follow.
  Result<void> submit_response(Stream& stream, const ResponseHead& head, bool end_stream);

 private:
  using Session::Session;
};

class ClientSession final : public Session {
 public:
  static Result<std::unique_ptr<ClientSession>> create(Handler& handler, buffer::ChunkPool& pool,
                                                       buffer::BlockPool& blocks,
                                                       const SessionConfig& config = {});

  // Opens a stream with this request head. Requests over the peer's concurrency limit wait in
  // the session until a stream closes. Fails when no new stream may start (GOAWAY sent or
  // received, stream ids used up): open another connection.
  Result<Stream*> submit_request(const RequestHead& head, bool end_stream);
  // A new request would be accepted now.
  bool can_submit_request() const;

 private:
  using Session::Session;
};

}  // namespace lmesh::http::h2
