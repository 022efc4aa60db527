// Shared by the HTTP/1 fuzz targets: parse one byte stream several ways (whole, one byte at a
// time, in pseudo-random pieces chosen from the input's hash), the way a connection drives the
// parser, and require that every way reports exactly the same messages. Each run also checks
// that what the parser reports agrees with itself (a Content-Length body has that length, a
// message without framing has no body).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer/chunk_pool.h"
#include "common/buffer/slice.h"
#include "common/http/h1/parser.h"
#include "fuzz_check.h"

namespace lmesh::fuzz {

using http::h1::Parser;

struct Options {
  Parser::Kind kind = Parser::Kind::kRequest;
  size_t max_head_bytes = 2048;
  bool first_response_to_head = false;  // responses: the first answers a HEAD request
  bool tunnel_only_websocket = true;    // requests: decline other upgrades (as lmesh does)
  bool finish = true;                   // the peer closes after the last byte
};

// What one run saw, as text so that runs compare as a whole.
struct Trace {
  std::vector<std::string> events;
  Parser::Outcome last = Parser::Outcome::kNeedMore;
  bool failed = false;
  std::string leftover;  // after an upgrade

  bool operator==(const Trace&) const = default;
};

class Recorder : public Parser::Handler {
 public:
  Recorder(const Options& options, Trace& trace) : options_(options), trace_(trace) {}
  void set_parser(Parser* p) { parser_ = p; }

  void on_head() override {
    std::string e;
    if (options_.kind == Parser::Kind::kRequest) {
      const http::RequestHead& r = parser_->request();
      FUZZ_CHECK(!r.method.empty());
      e = "request " + r.method + " " + r.target + " " + std::to_string(r.version_major) + "." +
          std::to_string(r.version_minor) + " upgrade=" + std::to_string(r.upgrade) +
          " keep_alive=" + std::to_string(r.keep_alive);
      framing_ = r.framing;
      content_length_ = r.content_length;
      append_fields(e, r.headers);
      // What Http1ServerConnection does: only WebSocket upgrades become tunnels.
      if (options_.tunnel_only_websocket && r.upgrade &&
          !r.headers.has_token("upgrade", "websocket")) {
        parser_->decline_upgrade();
      }
    } else {
      const http::ResponseHead& r = parser_->response();
      FUZZ_CHECK(r.status <= 999);
      e = "response " + std::to_string(r.status) + " " + r.reason +
          " keep_alive=" + std::to_string(r.keep_alive);
      framing_ = r.framing;
      content_length_ = r.content_length;
      // No content in 1xx (other than 101), 204 and 304 responses (RFC 9110 §6.4.1).
      if ((r.status >= 100 && r.status < 200 && r.status != 101) || r.status == 204 ||
          r.status == 304) {
        FUZZ_CHECK(framing_ == http::BodyFraming::kNone);
      }
      append_fields(e, r.headers);
    }
    e += " framing=" + std::to_string(static_cast<int>(framing_)) +
         " length=" + std::to_string(content_length_);
    if (framing_ != http::BodyFraming::kContentLength) FUZZ_CHECK(content_length_ == 0);
    FUZZ_CHECK(parser_->head_complete());
    trace_.events.push_back(std::move(e));
  }

  void on_body(buffer::Slice data) override {
    FUZZ_CHECK(!data.empty());
    body_.append(data.view());
  }

  void on_message_complete() override {
    if (framing_ == http::BodyFraming::kNone) FUZZ_CHECK(body_.empty());
    if (framing_ == http::BodyFraming::kContentLength) FUZZ_CHECK(body_.size() == content_length_);
    std::string e = "complete body=" + body_ + " trailers";
    append_fields(e, parser_->trailers());
    trace_.events.push_back(std::move(e));
    body_.clear();
    framing_ = http::BodyFraming::kNone;
    content_length_ = 0;
  }

 private:
  static void append_fields(std::string& e, const http::HeaderMap& h) {
    h.for_each([&](std::string_view n, std::string_view v) {
      e += "|";
      e += n;
      e += ":";
      e += v;
    });
  }

  const Options& options_;
  Trace& trace_;
  Parser* parser_ = nullptr;
  std::string body_;
  http::BodyFraming framing_ = http::BodyFraming::kNone;
  uint64_t content_length_ = 0;
};

// Feeds `whole` cut at `cuts` (increasing offsets), resuming after each message as a
// connection does, until the end, an upgrade or an error; then finish() if asked.
inline Trace run(const Options& options, const buffer::Slice& whole,
                 const std::vector<size_t>& cuts) {
  Trace trace;
  Recorder recorder(options, trace);
  Parser parser(options.kind, recorder, options.max_head_bytes);
  recorder.set_parser(&parser);
  if (options.first_response_to_head) parser.set_next_response_bodyless(true);

  size_t piece_start = 0;
  for (size_t c = 0; c <= cuts.size(); ++c) {
    size_t piece_end = c < cuts.size() ? cuts[c] : whole.size();
    size_t at = piece_start;
    while (at < piece_end) {
      auto r = parser.feed(whole.sub(at, piece_end - at));
      FUZZ_CHECK(r.consumed <= piece_end - at);
      at += r.consumed;
      trace.last = r.outcome;
      if (r.outcome == Parser::Outcome::kMessageComplete) {
        FUZZ_CHECK(!parser.in_message());
        parser.resume();
        continue;
      }
      if (r.outcome == Parser::Outcome::kUpgrade) {
        trace.leftover = std::string(whole.view().substr(at));
        return trace;
      }
      if (r.outcome == Parser::Outcome::kError) {
        FUZZ_CHECK(parser.error() != Parser::Error::kNone);
        FUZZ_CHECK(!parser.error_reason().empty());
        // A failed parser stays failed.
        FUZZ_CHECK(parser.feed(whole.sub(0, whole.size())).outcome == Parser::Outcome::kError);
        trace.failed = true;
        return trace;
      }
      FUZZ_CHECK(at == piece_end);  // kNeedMore consumes everything
    }
    piece_start = piece_end;
  }
  if (options.finish && whole.size() > 0) {
    trace.last = parser.finish();
    trace.failed = trace.last == Parser::Outcome::kError;
  }
  return trace;
}

inline uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Parses `input` whole, byte by byte and in pieces of 1..16 bytes chosen from its hash; all
// runs must agree.
inline void parse_every_way(const Options& options, std::string_view input) {
  buffer::ChunkPool pool(std::max<size_t>(input.size(), 1));
  buffer::Chunk* chunk = pool.acquire();
  if (!input.empty()) std::memcpy(chunk->data(), input.data(), input.size());
  chunk->fill = static_cast<uint32_t>(input.size());
  buffer::Slice whole(chunk, 0, input.size());

  Trace reference = run(options, whole, {});

  std::vector<size_t> every_byte;
  for (size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
  FUZZ_CHECK(run(options, whole, every_byte) == reference);

  std::vector<size_t> random_cuts;
  uint64_t x = fnv1a(input) | 1;
  for (size_t at = 0;;) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    at += 1 + x % 16;
    if (at >= input.size()) break;
    random_cuts.push_back(at);
  }
  FUZZ_CHECK(run(options, whole, random_cuts) == reference);
}

}  // namespace lmesh::fuzz
