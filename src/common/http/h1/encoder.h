// HTTP/1.1 serialization: message heads and chunked framing, appended to a Buffer.
//
// A proxy re-frames rather than copying bytes verbatim: it drops hop-by-hop fields (RFC 9110
// §7.6.1) from what it forwards and chooses its own framing per connection, so the head is
// rebuilt while body bytes pass through as Slices.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/buffer/buffer.h"
#include "common/http/headers.h"
#include "common/http/message.h"

namespace lmesh::http::h1 {

// Appends the end-to-end fields of `headers` as "Name: value\r\n" lines, leaving out any
// named `also_skip` (e.g. Host, when a proxy rewrites it).
void append_end_to_end_fields(buffer::Buffer& out, const HeaderMap& headers,
                              std::string_view also_skip = {});

void append_request_line(buffer::Buffer& out, std::string_view method, std::string_view target);
void append_status_line(buffer::Buffer& out, uint16_t status, std::string_view reason);
void append_field(buffer::Buffer& out, std::string_view name, std::string_view value);
void append_content_length(buffer::Buffer& out, uint64_t length);
void end_head(buffer::Buffer& out);

// One chunk of a chunked body: size line, the data (moved in, not copied), CRLF.
void append_chunk(buffer::Buffer& out, buffer::Slice data);
// The last chunk, any trailer fields (hop-by-hop ones dropped), and the final CRLF.
void append_last_chunk(buffer::Buffer& out, const HeaderMap& trailers);

// The standard reason phrase for a status code ("" when unknown).
std::string_view reason_phrase(uint16_t status);

}  // namespace lmesh::http::h1
