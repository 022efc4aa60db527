// Fuzz target: protocol detection (src/proxy/detect/protocol.h). The input is the first bytes a
// client sends; every prefix of it is detected, as bytes would trickle in, and the verdicts are
// checked against what the function promises.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "proxy/detect/protocol.h"

namespace {

using lmesh::proxy::Detection;
using lmesh::proxy::Protocol;

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
// Prefix checks are quadratic: look at every prefix of the first this many bytes only.
constexpr size_t kMaxPrefixes = 4096;

void check_verdict(std::string_view b, const Detection& d, size_t max_bytes) {
  if (b.empty()) FUZZ_CHECK(d.need_more);
  if (d.need_more) {
    // Waiting is bounded: never past max_bytes (a method of up to 32 bytes may come first).
    FUZZ_CHECK(b.size() < max_bytes || b.size() <= 32);
    return;
  }
  switch (d.protocol) {
    case Protocol::kHttp2: FUZZ_CHECK(b.starts_with(kPreface)); break;
    case Protocol::kTls:
      FUZZ_CHECK(b.size() >= 6);
      FUZZ_CHECK(static_cast<unsigned char>(b[0]) == 0x16 && b[1] == 0x03 && b[5] == 0x01);
      break;
    case Protocol::kHttp1:
      // A line that names HTTP/1 and has ended, or a request line as long as the head limit
      // (the HTTP/1 server answers that with 431).
      if (b.size() < max_bytes) {
        FUZZ_CHECK(b.find("HTTP/1.") != std::string_view::npos);
        FUZZ_CHECK(b.find('\n') != std::string_view::npos);
      }
      break;
    case Protocol::kOpaque: break;
  }
}

void run(std::string_view in, size_t max_bytes) {
  check_verdict(in, lmesh::proxy::detect_protocol(in, max_bytes), max_bytes);
  // Bytes trickling in: once a prefix shorter than max_bytes decides, no longer prefix may
  // decide otherwise (the verdict of a connection must not depend on how reads split it).
  bool decided = false;
  Protocol verdict = Protocol::kOpaque;
  size_t limit = in.size() < kMaxPrefixes ? in.size() : kMaxPrefixes;
  for (size_t n = 0; n <= limit; ++n) {
    std::string_view prefix = in.substr(0, n);
    Detection d = lmesh::proxy::detect_protocol(prefix, max_bytes);
    check_verdict(prefix, d, max_bytes);
    if (decided) {
      FUZZ_CHECK(!d.need_more);
      FUZZ_CHECK(d.protocol == verdict);
    } else if (!d.need_more && n < max_bytes) {
      decided = true;
      verdict = d.protocol;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  run(in, 64);     // a small limit, so long lines reach it
  run(in, 65536);  // the default --max-header-bytes
  return 0;
}
