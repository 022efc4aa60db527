#include "common/http/h2/headers_map.h"

#include <charconv>
#include <cstring>
#include <optional>

namespace lmesh::http::h2 {
namespace {

std::string_view to_view(const std::string& s) {
  return std::string_view(s);
}

// True if `f` describes the HTTP/1 connection rather than the message, so it must not be sent
// on HTTP/2 (RFC 9113 §8.2.2). TE is handled by the caller: "trailers" may pass.
bool is_connection_specific(const HeaderMap& headers, const HeaderMap::Field& f) {
  if (is_hop_by_hop(f.kind)) return true;
  // Fields named by Connection are hop-by-hop too (RFC 9110 §7.6.1).
  return headers.has_connection_options() && f.kind == FieldName::kOther &&
         headers.has_token(FieldName::kConnection, f.name);
}

// Appends the fields of `headers` that HTTP/2 may carry. `request` lets "te: trailers" through
// (the only TE value HTTP/2 allows, §8.2.2; gRPC relies on it).
void add_fields(const HeaderMap& headers, NvList& out, bool request) {
  for (size_t i = 0; i < headers.size(); ++i) {
    HeaderMap::Field f = headers.at(i);
    if (f.name.empty() || f.name.front() == ':') continue;  // never let a field pose as pseudo
    if (f.kind == FieldName::kTe) {
      if (request && list_contains_token(f.value, "trailers")) out.add_view("te", "trailers");
      continue;
    }
    if (f.kind == FieldName::kHost) continue;  // carried as :authority
    if (is_connection_specific(headers, f)) continue;
    out.add_view(f.name, f.value);
  }
}

struct Target {
  std::string_view scheme, authority, path;
};

// Splits an absolute-form target ("http://host:port/path?q") into its parts; anything else is
// a path as it stands.
Target split_target(std::string_view target) {
  Target t;
  auto sep = target.find("://");
  if (sep == std::string_view::npos || target.starts_with('/')) {
    t.path = target;
    return t;
  }
  t.scheme = target.substr(0, sep);
  std::string_view rest = target.substr(sep + 3);
  auto slash = rest.find_first_of("/?");
  t.authority = rest.substr(0, slash);
  // "http://host" and "http://host?q" have an empty path, which is "/" (RFC 9113 §8.3.1).
  t.path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  return t;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

NvList::Piece NvList::keep(std::string_view bytes) {
  Piece p{nullptr, arena_.size(), bytes.size()};
  arena_.append(bytes);
  return p;
}

uint8_t* NvList::resolve(const Piece& p) {
  const char* base = p.data != nullptr ? p.data : arena_.data() + p.offset;
  // nghttp2_nv takes non-const pointers but only reads through them when the frame is
  // submitted (it copies; we never pass NGHTTP2_NV_FLAG_NO_COPY_*).
  return reinterpret_cast<uint8_t*>(const_cast<char*>(base));
}

void NvList::add_view(std::string_view name, std::string_view value) {
  entries_.push_back(
      Entry{Piece{name.data(), 0, name.size()}, Piece{value.data(), 0, value.size()}});
}

void NvList::add_copy(std::string_view name, std::string_view value) {
  Piece n{name.data(), 0, name.size()};
  entries_.push_back(Entry{n, keep(value)});
}

void NvList::clear() {
  arena_.clear();
  entries_.clear();
  nv_.clear();
}

const nghttp2_nv* NvList::data() {
  nv_.clear();
  nv_.reserve(entries_.size());
  for (const Entry& e : entries_) {
    nv_.push_back(nghttp2_nv{resolve(e.name), resolve(e.value), e.name.size, e.value.size,
                             NGHTTP2_NV_FLAG_NONE});
  }
  return nv_.data();
}

std::string NvList::to_string() {
  const nghttp2_nv* nv = data();
  std::string out;
  for (size_t i = 0; i < nv_.size(); ++i) {
    out.append(reinterpret_cast<const char*>(nv[i].name), nv[i].namelen);
    out += ": ";
    out.append(reinterpret_cast<const char*>(nv[i].value), nv[i].valuelen);
    out += "\n";
  }
  return out;
}

Result<void> encode_request(const RequestHead& head, NvList& out) {
  if (head.method.empty()) return fail(ErrorCode::kInvalidArgument, "h2 request without a method");
  out.add_view(":method", head.method);
  std::optional<std::string_view> host = head.headers.get(FieldName::kHost);

  if (head.method == "CONNECT") {
    // §8.5: only :method and :authority; the HTTP/1 target is the authority.
    std::string_view authority = !head.authority.empty() ? to_view(head.authority) : head.target;
    if (authority.empty()) {
      return fail(ErrorCode::kInvalidArgument, "h2 CONNECT request without an authority");
    }
    out.add_view(":authority", authority);
  } else {
    Target t = split_target(head.target);
    if (t.path.empty() || (t.path.front() != '/' && t.path.front() != '?' && t.path != "*")) {
      return fail(ErrorCode::kInvalidArgument,
                  "h2 request target is not a path: '" + head.target + "'");
    }
    std::string_view scheme = !head.scheme.empty() ? to_view(head.scheme)
                              : !t.scheme.empty()  ? t.scheme
                                                   : std::string_view("http");
    // RFC 9112 §3.2.2: the authority of an absolute-form target wins over Host.
    std::string_view authority = !head.authority.empty() ? to_view(head.authority)
                                 : !t.authority.empty()  ? t.authority
                                                         : host.value_or(std::string_view());
    out.add_view(":scheme", scheme);
    if (!authority.empty()) out.add_view(":authority", authority);
    if (t.path.front() == '?') {
      out.add_copy(":path", "/" + std::string(t.path));
    } else {
      out.add_view(":path", t.path);
    }
  }
  add_fields(head.headers, out, /*request=*/true);
  return {};
}

Result<void> encode_response(const ResponseHead& head, NvList& out) {
  if (head.status < 100 || head.status > 999) {
    return fail(ErrorCode::kInvalidArgument,
                "h2 response status " + std::to_string(head.status) + " is not 3 digits");
  }
  if (head.status == 101) {
    return fail(ErrorCode::kInvalidArgument, "h2 has no 101 Switching Protocols (RFC 9113 §8.6)");
  }
  char digits[3] = {static_cast<char>('0' + head.status / 100),
                    static_cast<char>('0' + head.status / 10 % 10),
                    static_cast<char>('0' + head.status % 10)};
  out.add_copy(":status", std::string_view(digits, 3));
  add_fields(head.headers, out, /*request=*/false);
  return {};
}

void encode_trailers(const HeaderMap& trailers, NvList& out) {
  add_fields(trailers, out, /*request=*/false);
}

void add_request_field(RequestHead& head, std::string_view name, std::string_view value) {
  if (name.empty() || name.front() != ':') {
    head.headers.add(name, value);
  } else if (name == ":method") {
    head.method.assign(value);
  } else if (name == ":path") {
    head.target.assign(value);
  } else if (name == ":authority") {
    head.authority.assign(value);
  } else if (name == ":scheme") {
    head.scheme.assign(value);
  }
  // Other pseudo-header fields (e.g. :protocol) never get here: nghttp2 rejects them unless
  // SETTINGS_ENABLE_CONNECT_PROTOCOL was sent, which this session does not do.
}

void add_response_field(ResponseHead& head, std::string_view name, std::string_view value) {
  if (name.empty() || name.front() != ':') {
    head.headers.add(name, value);
  } else if (name == ":status") {
    uint64_t status = parse_u64(value).value_or(0);
    head.status = status <= 999 ? static_cast<uint16_t>(status) : 0;
  }
}

void finish_request_head(RequestHead& head, bool end_stream) {
  head.version_major = 2;
  head.version_minor = 0;
  head.keep_alive = true;
  head.upgrade = false;
  // §8.5: a CONNECT request names its authority and nothing else; HTTP/1 calls that the target.
  if (head.method == "CONNECT" && head.target.empty()) head.target = head.authority;
  std::optional<uint64_t> length;
  if (auto cl = head.headers.get(FieldName::kContentLength)) length = parse_u64(*cl);
  if (length) {
    head.framing = BodyFraming::kContentLength;
    head.content_length = *length;
  } else {
    head.framing = end_stream ? BodyFraming::kNone : BodyFraming::kChunked;
    head.content_length = 0;
  }
}

void finish_response_head(ResponseHead& head, bool end_stream, bool request_was_head) {
  head.version_major = 2;
  head.version_minor = 0;
  head.keep_alive = true;
  std::optional<uint64_t> length;
  if (auto cl = head.headers.get(FieldName::kContentLength)) length = parse_u64(*cl);
  head.content_length = length.value_or(0);
  if (head.informational() || head.status == 204 || head.status == 304 || request_was_head) {
    head.framing = BodyFraming::kNone;
  } else if (length) {
    head.framing = BodyFraming::kContentLength;
  } else if (end_stream) {
    // No body: HTTP/1 must then say so with a length, or the reader waits for a close.
    head.framing = BodyFraming::kContentLength;
  } else {
    head.framing = BodyFraming::kChunked;
  }
}

}  // namespace lmesh::http::h2
