#include "common/config/duration.h"

#include <charconv>
#include <string>

namespace lmesh::config {

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text == "0") return std::chrono::milliseconds(0);
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  if (ec != std::errc() || end == text.data()) {
    return fail(ErrorCode::kInvalidArgument,
                "'" + std::string(text) + "' is not a duration (e.g. 500ms, 10s, 5m, 1h)");
  }
  uint64_t ms_per_unit = 0;
  if (unit == "ms") ms_per_unit = 1;
  if (unit == "s") ms_per_unit = 1000;
  if (unit == "m") ms_per_unit = 60'000;
  if (unit == "h") ms_per_unit = 3'600'000;
  if (ms_per_unit == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "'" + std::string(text) + "' has no valid unit (use ms, s, m or h)");
  }
  constexpr uint64_t kMaxMs = uint64_t{1} << 40;  // ~35 years: beyond any sane timeout
  if (value > kMaxMs / ms_per_unit) {
    return fail(ErrorCode::kInvalidArgument, "'" + std::string(text) + "' is too long");
  }
  return std::chrono::milliseconds(value * ms_per_unit);
}

Result<uint64_t> parse_unsigned(std::string_view text, uint64_t min, uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return fail(ErrorCode::kInvalidArgument, "'" + std::string(text) + "' is not a number");
  }
  if (value < min || value > max) {
    return fail(ErrorCode::kInvalidArgument, "'" + std::string(text) + "' is out of range [" +
                                                 std::to_string(min) + ", " + std::to_string(max) +
                                                 "]");
  }
  return value;
}

}  // namespace lmesh::config
