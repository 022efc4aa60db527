// The shared heads (http::RequestHead / ResponseHead / HeaderMap) to and from HTTP/2 header
// lists, so HTTP/1 and HTTP/2 messages flow through one router.
//
// Sending: pseudo-header fields first (RFC 9113 §8.3), and the connection-specific fields an HTTP/1
// head may carry dropped (§8.2.2): Connection and the fields it names, Keep-Alive,
// Proxy-Connection, Transfer-Encoding, Upgrade, HTTP2-Settings, and TE unless it is "trailers".
// Host becomes :authority. Receiving: nghttp2 has validated the fields (its HTTP messaging checks
// are on), so mapping them is only bookkeeping.
#pragma once

#include <nghttp2/nghttp2.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/http/message.h"
#include "common/result.h"

namespace lmesh::http::h2 {

// A header list for one nghttp2_submit_* call. nghttp2 copies names and values when a frame
// is submitted, so the list and the head it points into only have to outlive that call.
class NvList {
 public:
  // Both views must outlive the submit call. Names need not be lower-case: nghttp2 lower-cases
  // them when it copies the list (nghttp2_nv_array_copy), as RFC 9113 §8.2.1 requires of what
  // goes on the wire. (A test checks that HTTP/1-cased names arrive lower-cased.)
  void add_view(std::string_view name, std::string_view value);
  // Copies the value into the list (for values made up on the fly, like :status).
  void add_copy(std::string_view name, std::string_view value);

  // Empties the list and keeps its storage, for the next head.
  void clear();

  // The array to pass to nghttp2; valid until the list changes.
  const nghttp2_nv* data();
  size_t size() const { return entries_.size(); }
  // For tests: the fields as "name: value" lines.
  std::string to_string();

 private:
  // A view into the caller's memory, or (data == nullptr) `size` bytes at `offset` of arena_,
  // which may move while the list grows.
  struct Piece {
    const char* data;
    size_t offset;
    size_t size;
  };
  struct Entry {
    Piece name, value;
  };
  Piece keep(std::string_view bytes);
  uint8_t* resolve(const Piece& p);

  std::string arena_;
  std::vector<Entry> entries_;
  std::vector<nghttp2_nv> nv_;
};

// :method, :scheme, :authority, :path and the forwardable fields of `head`. The target may be
// origin-form, absolute-form (split into scheme, authority and path, RFC 9113 §8.3.1),
// authority-form for CONNECT (§8.5) or "*". :scheme defaults to "http" and :authority to the
// Host field.
Result<void> encode_request(const RequestHead& head, NvList& out);
// :status and the forwardable fields. 101 has no HTTP/2 equivalent (§8.6).
Result<void> encode_response(const ResponseHead& head, NvList& out);
// The forwardable fields of a trailer section (no pseudo-header fields, §8.1).
void encode_trailers(const HeaderMap& trailers, NvList& out);

// Received fields, one at a time, as nghttp2 delivers them.
void add_request_field(RequestHead& head, std::string_view name, std::string_view value);
void add_response_field(ResponseHead& head, std::string_view name, std::string_view value);
// The head is complete. Sets version 2.0 and the framing an HTTP/1 encoder of this message
// needs: none when the stream ended with the head, a length when content-length was sent, and
// chunked otherwise (an HTTP/2 body is delimited by END_STREAM, RFC 9113 §8.1).
void finish_request_head(RequestHead& head, bool end_stream);
void finish_response_head(ResponseHead& head, bool end_stream, bool request_was_head);

}  // namespace lmesh::http::h2
