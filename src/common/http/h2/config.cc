#include "common/http/h2/config.h"

#include <string>

namespace lmesh::http::h2 {
namespace {

constexpr uint32_t kMaxWindow = (1u << 31) - 1;  // RFC 9113 §6.9.1
constexpr uint32_t kMinFrameSize = 16384;        // §6.5.2
constexpr uint32_t kMaxFrameSize = (1u << 24) - 1;

std::unexpected<Error> out_of_range(const char* field, uint64_t value, const char* range) {
  return fail(ErrorCode::kInvalidArgument, std::string("h2 session config: ") + field + " = " +
                                               std::to_string(value) + " is outside " + range);
}

}  // namespace

Result<void> SessionConfig::validate() const {
  if (initial_stream_window > kMaxWindow) {
    return out_of_range("initial_stream_window", initial_stream_window, "[0, 2^31-1]");
  }
  if (connection_window < 65535 || connection_window > kMaxWindow) {
    return out_of_range("connection_window", connection_window, "[65535, 2^31-1]");
  }
  if (max_frame_size < kMinFrameSize || max_frame_size > kMaxFrameSize) {
    return out_of_range("max_frame_size", max_frame_size, "[16384, 2^24-1]");
  }
  if (max_header_list_size == 0) {
    return out_of_range("max_header_list_size", max_header_list_size, "[1, 2^32-1]");
  }
  if (max_outbound_ack == 0) return out_of_range("max_outbound_ack", 0, "[1, ...]");
  if (max_settings_entries == 0) return out_of_range("max_settings_entries", 0, "[1, ...]");
  if (max_continuations == 0) return out_of_range("max_continuations", 0, "[1, ...]");
  return {};
}

}  // namespace lmesh::http::h2
