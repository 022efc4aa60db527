// The nghttp2 callbacks of a Session: they turn nghttp2's frame events into Stream state and
// Session::Handler calls. Internal to the h2 module.
#pragma once

#include <nghttp2/nghttp2.h>

namespace lmesh::http::h2 {

class Session;
class Stream;

struct SessionCallbacks {
  // Fills `callbacks` with every callback below.
  static void install(nghttp2_session_callbacks* callbacks);

  // The data provider of every stream that sends a body: hands nghttp2 the length of the
  // next DATA frame from the stream's queue (NGHTTP2_DATA_FLAG_NO_COPY), or defers.
  static ssize_t read_data(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                           uint32_t* data_flags, nghttp2_data_source* source, void* user_data);

  static int on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame,
                              void* user_data);
  static int on_header(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                       void* user_data);
  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user_data);
  static int on_data_chunk_recv(nghttp2_session* session, uint8_t flags, int32_t stream_id,
                                const uint8_t* data, size_t len, void* user_data);
  static int on_stream_close(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                             void* user_data);
  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user_data);
  static int on_frame_not_send(nghttp2_session* session, const nghttp2_frame* frame,
                               int lib_error_code, void* user_data);
  static int on_invalid_frame_recv(nghttp2_session* session, const nghttp2_frame* frame,
                                   int lib_error_code, void* user_data);
  static int on_error(nghttp2_session* session, int lib_error_code, const char* msg, size_t len,
                      void* user_data);
  static int send_data(nghttp2_session* session, nghttp2_frame* frame, const uint8_t* framehd,
                       size_t length, nghttp2_data_source* source, void* user_data);

 private:
  // The owner still wants to hear about this stream: it knows it, has not reset it, and has
  // not abandoned the session (possibly from the callback that just returned).
  static bool delivering(const Session& s, const Stream& stream);
  static int on_headers_recv(Session& s, const nghttp2_frame* frame);
  static void header_block_too_large(Session& s, Stream& stream, bool end_stream);
  // Runs a callback's body: an exception must not unwind through nghttp2's C frames, so it
  // becomes `failure` (NGHTTP2_ERR_CALLBACK_FAILURE), which fails the connection.
  template <class R, class Fn>
  static R guarded(void* user_data, R failure, Fn&& body) noexcept;
};

}  // namespace lmesh::http::h2
