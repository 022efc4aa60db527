#include "common/http/h1/encoder.h"

#include <charconv>
#include <cstring>

namespace lmesh::http::h1 {
void append_end_to_end_fields(buffer::Buffer& out, const HeaderMap& headers,
                              std::string_view also_skip) {
  FieldName skip = also_skip.empty() ? FieldName::kOther : classify_field_name(also_skip);
  bool options = headers.has_connection_options();
  for (size_t i = 0; i < headers.size(); ++i) {
    HeaderMap::Field f = headers.at(i);
    if (is_hop_by_hop(f.kind) || (f.kind == skip && skip != FieldName::kOther)) continue;
    if (f.kind == FieldName::kOther && !also_skip.empty() && iequals(f.name, also_skip)) continue;
    if (options && f.kind == FieldName::kOther &&
        headers.has_token(FieldName::kConnection, f.name)) {
      continue;
    }
    append_field(out, f.name, f.value);
  }
}

void append_request_line(buffer::Buffer& out, std::string_view method, std::string_view target) {
  out.append(method);
  out.append(" ");
  out.append(target);
  out.append(" HTTP/1.1\r\n");
}

void append_status_line(buffer::Buffer& out, uint16_t status, std::string_view reason) {
  char code[4] = {static_cast<char>('0' + status / 100 % 10),
                  static_cast<char>('0' + status / 10 % 10), static_cast<char>('0' + status % 10),
                  ' '};
  out.append("HTTP/1.1 ");
  out.append(std::string_view(code, 4));
  out.append(reason);
  out.append("\r\n");
}

void append_field(buffer::Buffer& out, std::string_view name, std::string_view value) {
  size_t n = name.size() + value.size() + 4;
  if (n > out.pool().chunk_size()) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
    return;
  }
  // One reservation for the whole line: heads are a dozen of these per request.
  size_t room = 0;
  char* p = out.reserve(n, &room);
  if (!name.empty()) std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p++ = '\r';
  *p++ = '\n';
  out.commit(n);
}

void append_content_length(buffer::Buffer& out, uint64_t length) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, length);
  append_field(out, "Content-Length", std::string_view(digits, static_cast<size_t>(end - digits)));
}

void end_head(buffer::Buffer& out) {
  out.append("\r\n");
}

void append_chunk(buffer::Buffer& out, buffer::Slice data) {
  if (data.empty()) return;  // a zero-size chunk would end the body
  char line[20];
  auto [end, ec] = std::to_chars(line, line + 16, data.size(), 16);
  *end++ = '\r';
  *end++ = '\n';
  out.append(std::string_view(line, static_cast<size_t>(end - line)));
  out.append(std::move(data));
  out.append("\r\n");
}

void append_last_chunk(buffer::Buffer& out, const HeaderMap& trailers) {
  out.append("0\r\n");
  append_end_to_end_fields(out, trailers);
  out.append("\r\n");
}

std::string_view reason_phrase(uint16_t status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 421: return "Misdirected Request";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

}  // namespace lmesh::http::h1
