// Test helpers for the HTTP/1 parser: bytes in pooled chunks as a read would deliver them, a
// handler that writes down everything the parser reports, and a driver that feeds a message
// stream in pieces of any size and resumes after each message like a connection does.
#pragma once

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer/chunk_pool.h"
#include "common/buffer/slice.h"
#include "common/http/h1/parser.h"
#include "common/http/message.h"

namespace lmesh::http::h1::testing {

// Copies `bytes` into one chunk of `pool` (which must be large enough).
inline buffer::Slice slice_of(buffer::ChunkPool& pool, std::string_view bytes) {
  buffer::Chunk* c = pool.acquire();
  std::memcpy(c->data(), bytes.data(), std::min(bytes.size(), pool.chunk_size()));
  c->fill = static_cast<uint32_t>(std::min(bytes.size(), pool.chunk_size()));
  return buffer::Slice(c, 0, c->fill);
}

inline const char* framing_name(BodyFraming f) {
  switch (f) {
    case BodyFraming::kNone: return "none";
    case BodyFraming::kContentLength: return "length";
    case BodyFraming::kChunked: return "chunked";
    case BodyFraming::kUntilClose: return "close";
  }
  return "?";
}

inline std::string describe(const HeaderMap& h) {
  std::string out;
  h.for_each([&](std::string_view n, std::string_view v) {
    out += std::string(n) + "=" + std::string(v) + ";";
  });
  return out;
}

// Writes down every callback as a line of text, so two runs can be compared as a whole.
struct Recorder : Parser::Handler {
  void on_head() override {
    std::string line;
    if (kind == Parser::Kind::kResponse) {
      const ResponseHead& r = parser->response();
      line = "response " + std::to_string(r.status) + " '" + r.reason + "' " +
             std::to_string(r.version_major) + "." + std::to_string(r.version_minor);
      line += std::string(" framing=") + framing_name(r.framing) +
              " length=" + std::to_string(r.content_length) +
              " keep_alive=" + (r.keep_alive ? "1" : "0");
      line += " headers=" + describe(r.headers);
    } else {
      const RequestHead& r = parser->request();
      line = "request " + r.method + " " + r.target + " " + std::to_string(r.version_major) + "." +
             std::to_string(r.version_minor);
      line += std::string(" framing=") + framing_name(r.framing) +
              " length=" + std::to_string(r.content_length) +
              " keep_alive=" + (r.keep_alive ? "1" : "0") + " upgrade=" + (r.upgrade ? "1" : "0");
      line += " headers=" + describe(r.headers);
    }
    events.push_back(line);
    ++heads;
    if (on_head_hook) on_head_hook(*parser);
  }
  void on_body(buffer::Slice data) override {
    body.append(data.view());
    ++body_calls;
  }
  void on_message_complete() override {
    events.push_back("complete body='" + body + "' trailers=" + describe(parser->trailers()));
    bodies.push_back(body);
    body.clear();
    ++completes;
  }

  Parser::Kind kind = Parser::Kind::kRequest;
  Parser* parser = nullptr;
  std::function<void(Parser&)> on_head_hook;
  std::vector<std::string> events;
  std::vector<std::string> bodies;
  std::string body;  // of the message in progress
  int heads = 0;
  int body_calls = 0;
  int completes = 0;
};

// A parser with its recorder, for one stream of messages.
struct Harness {
  explicit Harness(Parser::Kind kind, size_t max_head = 64 * 1024)
      : parser(kind, recorder, max_head) {
    recorder.kind = kind;
    recorder.parser = &parser;
  }
  Recorder recorder;
  Parser parser;
};

struct Run {
  std::vector<std::string> events;
  Parser::Outcome last = Parser::Outcome::kNeedMore;
  Parser::Error error = Parser::Error::kNone;
  std::string leftover;  // bytes after an upgrade, not parsed
  size_t messages = 0;
};

// Feeds `input` in pieces of `step` bytes (0: all at once). After each complete message it
// resumes and goes on with the rest of the piece, as a connection handling pipelined requests
// does; it stops at an upgrade (keeping what follows) or an error. With `finish`, the peer
// then closes (Parser::finish()).
inline Run feed(Harness& h, buffer::ChunkPool& pool, std::string_view input, size_t step,
                bool finish = false) {
  Run run;
  buffer::Slice whole = slice_of(pool, input);
  const size_t n = whole.size();
  size_t piece_start = 0;
  while (piece_start < n) {
    size_t piece_end = step == 0 ? n : std::min(n, piece_start + step);
    size_t at = piece_start;
    while (at < piece_end) {
      auto r = h.parser.feed(whole.sub(at, piece_end - at));
      at += r.consumed;
      run.last = r.outcome;
      if (r.outcome == Parser::Outcome::kMessageComplete) {
        ++run.messages;
        h.parser.resume();
        continue;
      }
      if (r.outcome == Parser::Outcome::kUpgrade) {
        run.leftover = std::string(input.substr(at));
        run.events = h.recorder.events;
        return run;
      }
      if (r.outcome == Parser::Outcome::kError) {
        run.error = h.parser.error();
        run.events = h.recorder.events;
        return run;
      }
      at = piece_end;  // kNeedMore: everything was consumed
    }
    piece_start = piece_end;
  }
  if (finish) {
    run.last = h.parser.finish();
    if (run.last == Parser::Outcome::kMessageComplete) ++run.messages;
    run.error = h.parser.error();
  }
  run.events = h.recorder.events;
  return run;
}

// The same stream parsed whole, then byte by byte and in a few other piece sizes: every run
// must report exactly the same thing.
inline Run feed_every_way(Parser::Kind kind, std::string_view input, bool finish = false,
                          size_t max_head = 64 * 1024,
                          std::function<void(Parser&)> on_head_hook = nullptr) {
  buffer::ChunkPool pool(1 << 20);
  Run first;
  bool have_first = false;
  for (size_t step : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{64}}) {
    Harness h(kind, max_head);
    h.recorder.on_head_hook = on_head_hook;
    Run r = feed(h, pool, input, step, finish);
    if (!have_first) {
      first = r;
      have_first = true;
      continue;
    }
    INFO("piece size " << step);
    CHECK(r.events == first.events);
    CHECK(r.last == first.last);
    CHECK(r.error == first.error);
    CHECK(r.leftover == first.leftover);
    CHECK(r.messages == first.messages);
  }
  return first;
}

}  // namespace lmesh::http::h1::testing
