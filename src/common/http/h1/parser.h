// HTTP/1.x message parsing with llhttp: heads into RequestHead/ResponseHead, bodies handed on
// as Slices of the bytes that were read (chunk framing removed, nothing copied).
//
// The parser stops after each complete message (Outcome::kMessageComplete), so its owner
// handles one exchange at a time; pipelined bytes that follow stay unconsumed until resume().
// Requests that llhttp rejects in strict mode, including the request-smuggling shapes
// (Content-Length with Transfer-Encoding, repeated Content-Length, bad chunk sizes), end in
// Outcome::kError and must never be forwarded.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <string>

#include "common/buffer/slice.h"
#include "common/http/message.h"

namespace lmesh::http::h1 {

class Parser {
 public:
  enum class Kind { kRequest, kResponse };
  enum class Outcome {
    kNeedMore,         // everything consumed, the message goes on
    kMessageComplete,  // one message ended; call resume() before feeding more
    kUpgrade,          // the head asked to switch protocols; what follows is not HTTP/1
    kError,
  };
  enum class Error { kNone, kMalformed, kHeadTooLarge };

  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_head() = 0;
    virtual void on_body(buffer::Slice data) = 0;
    virtual void on_message_complete() = 0;
  };

  struct FeedResult {
    size_t consumed;
    Outcome outcome;
  };

  Parser(Kind kind, Handler& handler, size_t max_head_bytes);
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  FeedResult feed(const buffer::Slice& data);
  // The peer closed: completes a response delimited by the close. kError if a message was
  // cut short.
  Outcome finish();
  void resume();
  // The upgrade did not happen (no 101): go on parsing HTTP/1 after the request head.
  void resume_after_upgrade();
  // Responses only: the next response answers a HEAD request, so it has no body whatever its
  // head says (RFC 9110 §9.3.2).
  void set_next_response_bodyless(bool bodyless) { next_bodyless_ = bodyless; }
  // Requests only: treat the current request as a plain one even though it asked to upgrade
  // (used for h2c upgrades, which lmesh declines by answering over HTTP/1.1).
  void decline_upgrade() {
    declined_upgrade_ = true;
    request_.upgrade = false;
  }

  RequestHead& request() { return request_; }
  const RequestHead& request() const { return request_; }
  ResponseHead& response() { return response_; }
  const ResponseHead& response() const { return response_; }
  const HeaderMap& trailers() const { return trailers_; }
  // A message has started (its first byte was seen) and has not completed.
  bool in_message() const { return in_message_; }
  bool head_complete() const { return head_complete_; }
  Error error() const { return error_; }
  const std::string& error_reason() const { return error_reason_; }

 private:
  static int on_message_begin(llhttp_t* p);
  static int on_url(llhttp_t* p, const char* at, size_t n);
  static int on_status(llhttp_t* p, const char* at, size_t n);
  static int on_header_field(llhttp_t* p, const char* at, size_t n);
  static int on_header_value(llhttp_t* p, const char* at, size_t n);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t n);
  static int on_message_complete(llhttp_t* p);
  static const llhttp_settings_t* settings();

  bool count_head_bytes(size_t n);
  FeedResult fail_with(Error e, std::string reason, size_t consumed);

  Kind kind_;
  Handler& handler_;
  size_t max_head_bytes_;
  llhttp_t parser_;
  RequestHead request_;
  ResponseHead response_;
  HeaderMap trailers_;
  HeaderMap* fields_ = nullptr;  // headers while reading the head, trailers after it
  bool field_open_ = false;      // a field's name is being received
  const buffer::Slice* current_ = nullptr;
  size_t head_bytes_ = 0;
  bool in_message_ = false;
  bool head_complete_ = false;
  bool next_bodyless_ = false;
  bool declined_upgrade_ = false;
  bool paused_ = false;  // stopped after a message; resume() before feeding more
  Error error_ = Error::kNone;
  std::string error_reason_;
};

}  // namespace lmesh::http::h1
