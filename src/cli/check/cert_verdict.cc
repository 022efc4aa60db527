#include "cli/check/cert_verdict.h"

#include <ctime>

namespace lmesh::cli::check {
namespace {

std::string plural(int64_t n, std::string_view unit) {
  return std::to_string(n) + " " + std::string(unit) + (n == 1 ? "" : "s");
}

}  // namespace

std::string format_utc(TimePoint t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  // 20 bytes for the years certificates use (1950-9999, RFC 5280 §4.1.2.5).
  if (std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0) return "?";
  return text;
}

std::string format_span(std::chrono::seconds span) {
  int64_t s = span.count();
  if (s >= 86400) return plural(s / 86400, "day");
  if (s >= 3600) return plural(s / 3600, "hour");
  if (s >= 60) return plural(s / 60, "minute");
  return plural(s, "second");
}

DateVerdict within_validity(std::string_view what, TimePoint not_before, TimePoint not_after,
                            TimePoint now) {
  if (now < not_before) {
    return {Verdict::kError, std::string(what) + " is not valid before " + format_utc(not_before)};
  }
  if (now >= not_after) {
    return {Verdict::kError, std::string(what) + " expired on " + format_utc(not_after)};
  }
  return {};
}

DateVerdict valid_for_at_least(std::string_view what, TimePoint not_after, TimePoint now,
                               std::chrono::seconds margin) {
  if (now >= not_after) {
    return {Verdict::kError, std::string(what) + " expired on " + format_utc(not_after)};
  }
  auto left = std::chrono::duration_cast<std::chrono::seconds>(not_after - now);
  if (left < margin) {
    return {Verdict::kWarning, std::string(what) + " expires on " + format_utc(not_after) +
                                   " (in " + format_span(left) + ")"};
  }
  return {};
}

}  // namespace lmesh::cli::check
