// Test helpers for the HTTP/2 session layer: a client and a server session wired back to back
// in memory (what one produces, the other is fed), handlers that write down every callback as
// a line of text, and a raw nghttp2 client for sending what a well-behaved session never would.
#pragma once

#include <nghttp2/nghttp2.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer/buffer.h"
#include "common/buffer/chunk_pool.h"
#include "common/http/h2/session.h"

namespace lmesh::http::h2::testing {

// Copies `bytes` into pooled chunks as a read would deliver them.
inline buffer::Buffer buffer_of(buffer::ChunkPool& pool, std::string_view bytes) {
  buffer::Buffer b(pool);
  b.append(bytes);
  return b;
}

inline std::string describe(const HeaderMap& h) {
  std::string out;
  h.for_each([&](std::string_view n, std::string_view v) {
    out += std::string(n) + "=" + std::string(v) + ";";
  });
  return out;
}

// Writes down every callback; optional hooks act on them (answer a request, reset, ...).
struct Recorder : Session::Handler {
  void on_request_head(Stream& s, bool end_stream) override {
    const RequestHead& r = s.request();
    events.push_back("request " + std::to_string(s.id()) + " " + r.method + " " + r.scheme + "://" +
                     r.authority + r.target + (end_stream ? " end" : "") +
                     " headers=" + describe(r.headers));
    streams[s.id()] = &s;
    if (on_request) on_request(s, end_stream);
  }
  void on_response_head(Stream& s, bool end_stream) override {
    const ResponseHead& r = s.response();
    events.push_back("response " + std::to_string(s.id()) + " " + std::to_string(r.status) +
                     (end_stream ? " end" : "") + " headers=" + describe(r.headers));
    if (on_response) on_response(s, end_stream);
  }
  void on_data(Stream& s, buffer::Slice data) override {
    bodies[s.id()].append(data.view());
    delivered += data.size();
    if (auto_consume) session->consume(s, data.size());
    if (on_data_hook) on_data_hook(s, data);
  }
  void on_trailers(Stream& s) override {
    events.push_back("trailers " + std::to_string(s.id()) + " " + describe(s.trailers()));
  }
  void on_stream_end(Stream& s) override {
    events.push_back("end " + std::to_string(s.id()) + " body=" + bodies[s.id()]);
    if (on_end) on_end(s);
  }
  void on_stream_reset(Stream& s, Http2ErrorCode code, ResetOrigin origin) override {
    events.push_back("reset " + std::to_string(s.id()) + " " + std::string(to_string(code)) + " " +
                     std::string(to_string(origin)));
  }
  void on_stream_closed(Stream& s) override {
    events.push_back("closed " + std::to_string(s.id()) + " " + std::string(to_string(s.state())));
    streams.erase(s.id());
    ++closed;
  }
  void on_stream_rejected(StreamId id, Http2ErrorCode code, std::string_view reason) override {
    events.push_back("rejected " + std::to_string(id) + " " + std::string(to_string(code)));
    rejected_reasons.push_back(std::string(reason));
  }
  void on_goaway(StreamId last, Http2ErrorCode code, std::string_view) override {
    events.push_back("goaway " + std::to_string(last) + " " + std::string(to_string(code)));
  }
  void on_ping_ack(uint64_t opaque) override {
    events.push_back("ping-ack " + std::to_string(opaque));
  }
  void on_connection_error(const ConnectionError& e) override {
    events.push_back("connection-error " + std::string(to_string(e.kind)) + " " +
                     std::string(to_string(e.code)));
    errors.push_back(e);
  }
  void on_data_sent(Stream&) override { ++data_sent_calls; }

  // Events whose text starts with `prefix`.
  std::vector<std::string> with(std::string_view prefix) const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      if (e.starts_with(prefix)) out.push_back(e);
    }
    return out;
  }

  Session* session = nullptr;
  bool auto_consume = true;
  std::function<void(Stream&, bool)> on_request;
  std::function<void(Stream&, bool)> on_response;
  std::function<void(Stream&, const buffer::Slice&)> on_data_hook;
  std::function<void(Stream&)> on_end;
  std::vector<std::string> events;
  std::map<StreamId, std::string> bodies;
  std::map<StreamId, Stream*> streams;  // open, as announced to this handler
  std::vector<std::string> rejected_reasons;
  std::vector<ConnectionError> errors;
  size_t delivered = 0;
  int closed = 0;
  int data_sent_calls = 0;
};

// Moves the bytes `from` produces into `to`, in pieces of `step` bytes (0: a slice at a time).
// Returns how many bytes moved; appends them to `wire` if given.
inline size_t pump(buffer::ChunkPool& pool, Session& from, Session& to, size_t step = 0,
                   std::string* wire = nullptr) {
  buffer::Buffer out(pool);
  from.produce(out);
  size_t moved = out.size();
  if (wire != nullptr) wire->append(out.to_string());
  for (size_t i = 0; i < out.slice_count(); ++i) {
    const buffer::Slice& s = out.slice(i);
    if (step == 0) {
      (void)to.feed(s);
      continue;
    }
    for (size_t at = 0; at < s.size(); at += step) {
      (void)to.feed(s.sub(at, std::min(step, s.size() - at)));
    }
  }
  return moved;
}

// A client and a server session back to back.
struct Pair {
  explicit Pair(const SessionConfig& server_config = {}, const SessionConfig& client_config = {})
      : pool(16 * 1024) {
    auto s = ServerSession::create(server_rec, pool, blocks, server_config);
    auto c = ClientSession::create(client_rec, pool, blocks, client_config);
    REQUIRE(s);
    REQUIRE(c);
    server = std::move(*s);
    client = std::move(*c);
    server_rec.session = server.get();
    client_rec.session = client.get();
  }

  // Shuttles bytes both ways until neither side produces anything. Returns the rounds taken.
  int shuttle(size_t step = 0, int max_rounds = 1000) {
    int rounds = 0;
    while (rounds < max_rounds) {
      ++rounds;
      size_t a = pump(pool, *client, *server, step, &client_wire);
      size_t b = pump(pool, *server, *client, step);
      if (a == 0 && b == 0) break;
    }
    return rounds;
  }

  buffer::Buffer buf(std::string_view bytes) { return buffer_of(pool, bytes); }

  buffer::ChunkPool pool;
  buffer::BlockPool blocks;
  std::string client_wire;  // every byte the client sent, for fuzz corpora
  Recorder server_rec, client_rec;
  std::unique_ptr<ServerSession> server;
  std::unique_ptr<ClientSession> client;
};

inline RequestHead request(std::string method, std::string target,
                           std::string authority = "example.test") {
  RequestHead r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.authority = std::move(authority);
  r.scheme = "http";
  return r;
}

inline ResponseHead response(uint16_t status) {
  ResponseHead r;
  r.status = status;
  return r;
}

// ---- raw bytes and a raw nghttp2 peer ----

inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// One frame: 9-byte header (RFC 9113 §4.1) and payload.
inline std::string frame(uint8_t type, uint8_t flags, uint32_t stream_id,
                         std::string_view payload = {}) {
  std::string f;
  size_t n = payload.size();
  f += static_cast<char>(n >> 16);
  f += static_cast<char>(n >> 8);
  f += static_cast<char>(n);
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  f += static_cast<char>((stream_id >> 24) & 0x7f);
  f += static_cast<char>(stream_id >> 16);
  f += static_cast<char>(stream_id >> 8);
  f += static_cast<char>(stream_id);
  f.append(payload);
  return f;
}

// An nghttp2 client used bare, to send what ClientSession never would (connection-specific
// fields, floods, rapid resets). It checks nothing it sends.
class RawClient {
 public:
  RawClient() {
    nghttp2_session_callbacks* cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, void* ud) {
          auto* self = static_cast<RawClient*>(ud);
          if (f->hd.type == NGHTTP2_GOAWAY) self->goaway_code = f->goaway.error_code;
          if (f->hd.type == NGHTTP2_RST_STREAM)
            self->rst_codes[f->hd.stream_id] = f->rst_stream.error_code;
          if (f->hd.type == NGHTTP2_HEADERS) self->headers_received++;
          return 0;
        });
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl,
               const uint8_t* v, size_t vl, uint8_t, void* ud) {
          auto* self = static_cast<RawClient*>(ud);
          self->fields[f->hd.stream_id] += std::string(reinterpret_cast<const char*>(n), nl) + "=" +
                                           std::string(reinterpret_cast<const char*>(v), vl) + ";";
          return 0;
        });
    nghttp2_option* opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_http_messaging(opt, 1);
    nghttp2_session_client_new2(&session, cb, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~RawClient() { nghttp2_session_del(session); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Submits a request with exactly these fields (name, value pairs).
  int32_t request(const std::vector<std::pair<std::string, std::string>>& fields,
                  bool end_stream = true) {
    std::vector<nghttp2_nv> nv;
    for (const auto& [n, v] : fields) {
      nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                    NGHTTP2_NV_FLAG_NONE});
    }
    if (end_stream) {
      return nghttp2_submit_request(session, nullptr, nv.data(), nv.size(), nullptr, nullptr);
    }
    return nghttp2_submit_headers(session, NGHTTP2_FLAG_NONE, -1, nullptr, nv.data(), nv.size(),
                                  nullptr);
  }

  // Everything queued, as bytes.
  std::string produce() {
    std::string out;
    for (;;) {
      const uint8_t* p;
      ssize_t n = nghttp2_session_mem_send(session, &p);
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    }
    return out;
  }
  void feed(const std::string& bytes) {
    nghttp2_session_mem_recv(session, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }

  nghttp2_session* session = nullptr;
  uint32_t goaway_code = 0xffffffff;
  std::map<int32_t, uint32_t> rst_codes;
  std::map<int32_t, std::string> fields;
  int headers_received = 0;
};

inline std::vector<std::pair<std::string, std::string>> get_fields(std::string path = "/") {
  return {{":method", "GET"}, {":scheme", "http"}, {":authority", "example.test"}, {":path", path}};
}

// Feeds raw bytes to a session in one slice (from a pool whose chunks can hold them).
inline Result<void> feed_bytes(buffer::ChunkPool& pool, Session& to, std::string_view bytes) {
  buffer::Buffer b = buffer_of(pool, bytes);
  for (size_t i = 0; i < b.slice_count(); ++i) {
    if (auto r = to.feed(b.slice(i)); !r) return r;
  }
  return {};
}

// The bytes a session produces now.
inline std::string produce_string(buffer::ChunkPool& pool, Session& s) {
  buffer::Buffer out(pool);
  s.produce(out);
  return out.to_string();
}

}  // namespace lmesh::http::h2::testing
