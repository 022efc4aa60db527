// Verdicts on a certificate's dates, the way `linkerd check` words them: out of its validity
// period is an error, valid but expiring within a margin is a warning. Pure: `now` is given.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "cli/check/check_report.h"

namespace lmesh::cli::check {

using TimePoint = std::chrono::system_clock::time_point;

struct DateVerdict {
  Verdict verdict = Verdict::kSuccess;
  std::string error;  // empty for a success
};

// "the trust anchor is not valid before 2030-01-01T00:00:00Z" / "... expired on ...".
DateVerdict within_validity(std::string_view what, TimePoint not_before, TimePoint not_after,
                            TimePoint now);
// A warning when less than `margin` is left ("the issuer certificate expires on ... (in 12
// days)"); an error when nothing is left.
DateVerdict valid_for_at_least(std::string_view what, TimePoint not_after, TimePoint now,
                               std::chrono::seconds margin);

// "2025-01-02T03:04:05Z" (RFC 3339, UTC).
std::string format_utc(TimePoint t);
// A human span, rounded down to its largest unit: "12 days", "1 day", "5 hours", "3 minutes",
// "40 seconds".
std::string format_span(std::chrono::seconds span);

}  // namespace lmesh::cli::check
