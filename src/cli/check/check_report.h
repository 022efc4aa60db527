// The outcome of `lmesh check`: categories of checks, each a verdict with, when it is not a
// success, why (`error`) and what to do (`hint`); rendered as Linkerd's table or as JSON. Pure:
// nothing here looks at the system.
#pragma once

#include <string>
#include <vector>

namespace lmesh::cli::check {

// A warning does not fail the run (Linkerd's ‼); an error does (×).
enum class Verdict { kSuccess, kWarning, kError };

struct CheckResult {
  std::string description;  // an assertion: "lmesh-proxy of default/web-0 is ready"
  Verdict verdict = Verdict::kSuccess;
  std::string error;  // why it is not a success; empty for a success
  std::string hint;   // what to do about it; empty for a success

  static CheckResult success(std::string description);
  static CheckResult warning(std::string description, std::string error, std::string hint);
  static CheckResult failure(std::string description, std::string error, std::string hint);
};

struct Category {
  std::string name;  // "control-plane"
  std::vector<CheckResult> checks;
};

struct Report {
  std::vector<Category> categories;

  // No check is an error (warnings pass).
  bool success() const;
  // The first failing check, for --wait's progress line; nullptr when none fails.
  const CheckResult* first_failure() const;
};

// Linkerd's layout: per category a header, an underline as long as it and one line per check
// ("√ text", "‼ text", "× text" with the error and "see: hint" indented by four spaces), a
// blank line between categories, and the final "Status check results are √" (or ×). With
// `colour`, the marks are green, yellow and red (ANSI).
std::string render_table(const Report& report, bool colour);

// {"success":bool,"categories":[{"name":..,"checks":[{"description":..,"result":
// "success|warning|error","error":..,"hint":..}]}]}; error and hint only when not a success.
// Indented, with a final newline.
std::string render_json(const Report& report);

}  // namespace lmesh::cli::check
