// Where the Store writes a follower's lines: the API's streamed response in the service, a
// recorder in tests. Keeps the Store free of HTTP.
#pragma once

#include <string>
#include <string_view>

namespace lmesh::destination {

enum class StreamKind { kResolve = 0, kProfile = 1 };
inline constexpr size_t kStreamKinds = 2;

inline std::string_view to_string(StreamKind kind) {
  return kind == StreamKind::kResolve ? "resolve" : "profile";
}

class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // One newline-delimited JSON line, without its newline.
  virtual void send_line(std::string line) = 0;
  // The stream is over (its service is gone); the sink is destroyed right after.
  virtual void end() = 0;
};

}  // namespace lmesh::destination
