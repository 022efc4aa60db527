// Fuzz target: the HTTP/2 server session (src/common/http/h2/session.h) as a proxy drives it.
// The input is what a client sends. It is fed as reads would bring it (whole, one byte at a
// time, and in pseudo-random pieces chosen from the input's hash), with produce() after every
// read. Every request is answered: a head, its request body echoed back as it arrives (the
// same slices, not copies), trailers at the end; body bytes are consumed once echoed.
//
// Checked: nothing crashes; per stream the callbacks keep protocol order (head, data and
// trailers, end; closed last and once; no reset after the end of both sides); at most one
// connection error; abandon() at the end closes every stream the owner saw; and no chunk of
// the pool is left in use once the session is gone.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string_view>

#include "common/buffer/buffer.h"
#include "common/buffer/chunk_pool.h"
#include "common/http/h2/session.h"
#include "fuzz_check.h"

namespace {

using lmesh::buffer::Buffer;
using lmesh::buffer::ChunkPool;
using lmesh::buffer::Slice;
using namespace lmesh::http;
using namespace lmesh::http::h2;

class Checker : public Session::Handler {
 public:
  void set_session(ServerSession* s) { session_ = s; }

  void on_request_head(Stream& stream, bool end_stream) override {
    FUZZ_CHECK(seen_.count(stream.id()) == 0);  // stream ids are never reused
    Seen& s = seen_[stream.id()];
    s.head = true;
    FUZZ_CHECK(!stream.request().method.empty());
    FUZZ_CHECK(stream.request().version_major == 2);
    FUZZ_CHECK(end_stream == stream.remote_ended());
    ResponseHead r;
    r.status = 200;
    r.headers.add("content-type", "application/octet-stream");
    FUZZ_CHECK(session_->submit_response(stream, r, false).has_value());
  }
  void on_data(Stream& stream, Slice data) override {
    Seen& s = seen_[stream.id()];
    FUZZ_CHECK(s.head && !s.ended && !s.closed);
    size_t n = data.size();
    FUZZ_CHECK(n <= stream.unconsumed_bytes());
    (void)session_->send_data(stream, std::move(data), false);  // echo, as the same slice
    session_->consume(stream, n);
  }
  void on_trailers(Stream& stream) override {
    Seen& s = seen_[stream.id()];
    FUZZ_CHECK(s.head && !s.ended && !s.closed);
  }
  void on_stream_end(Stream& stream) override {
    Seen& s = seen_[stream.id()];
    FUZZ_CHECK(s.head && !s.ended && !s.closed);
    s.ended = true;
    HeaderMap t;
    t.add("x-echoed", "yes");
    FUZZ_CHECK(session_->send_trailers(stream, t).has_value());
  }
  void on_stream_reset(Stream& stream, Http2ErrorCode, ResetOrigin) override {
    Seen& s = seen_[stream.id()];
    FUZZ_CHECK(s.head && !s.reset && !s.closed);
    s.reset = true;
  }
  void on_stream_closed(Stream& stream) override {
    Seen& s = seen_[stream.id()];
    FUZZ_CHECK(s.head && !s.closed);
    FUZZ_CHECK(stream.state() == Stream::State::kClosed);
    s.closed = true;
  }
  void on_stream_rejected(StreamId id, Http2ErrorCode, std::string_view) override {
    FUZZ_CHECK(seen_.count(id) == 0 || !seen_[id].head);  // the owner never saw it
  }
  void on_connection_error(const ConnectionError& error) override {
    FUZZ_CHECK(++errors_ == 1);
    FUZZ_CHECK(!error.reason.empty());
  }

  void check_all_closed() const {
    for (const auto& [id, s] : seen_) FUZZ_CHECK(!s.head || s.closed);
  }

 private:
  struct Seen {
    bool head = false, ended = false, reset = false, closed = false;
  };
  ServerSession* session_ = nullptr;
  std::map<StreamId, Seen> seen_;
  int errors_ = 0;
};

uint64_t hash(std::string_view in) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : in) h = (h ^ c) * 1099511628211ull;
  return h;
}

// One run: `in` read in pieces of `piece(i)` bytes.
template <class PieceSize>
void run(std::string_view in, PieceSize piece) {
  ChunkPool pool(16 * 1024);
  lmesh::buffer::BlockPool blocks;
  {
    Checker checker;
    SessionConfig config;
    config.max_concurrent_streams = 16;
    config.max_header_list_size = 8 * 1024;
    auto created = ServerSession::create(checker, pool, blocks, config);
    FUZZ_CHECK(created.has_value());
    ServerSession& session = **created;
    checker.set_session(&session);

    Buffer input(pool);
    input.append(in);  // in chunks, as reads fill them
    Buffer output(pool);
    size_t reads = 0;
    for (size_t i = 0; i < input.slice_count(); ++i) {
      const Slice& chunk = input.slice(i);
      for (size_t at = 0; at < chunk.size();) {
        size_t n = std::min(chunk.size() - at, piece(reads++));
        bool ok = session.feed(chunk.sub(at, n)).has_value();
        session.produce(output);
        output.clear();  // "written"
        at += n;
        if (!ok) {
          FUZZ_CHECK(!session.want_read());
          break;
        }
      }
    }
    session.abandon();
    checker.check_all_closed();
    FUZZ_CHECK(session.stream_count() == 0);
  }
  FUZZ_CHECK(pool.in_use() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  run(in, [](size_t) { return SIZE_MAX; });
  // Byte by byte costs a feed() each: only the start, where the preface and SETTINGS are.
  run(in.substr(0, 2048), [](size_t) { return size_t{1}; });
  uint64_t h = hash(in);
  run(in, [&h](size_t) {
    h = h * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>(1 + (h >> 33) % 200);
  });
  return 0;
}
