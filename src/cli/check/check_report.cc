#include "cli/check/check_report.h"

#include <nlohmann/json.hpp>

#include <utility>

namespace lmesh::cli::check {
namespace {

// Linkerd's marks: U+221A SQUARE ROOT, U+203C DOUBLE EXCLAMATION MARK, U+00D7 MULTIPLICATION SIGN.
// Always these, with no ASCII fallback: every terminal lmesh runs on speaks UTF-8, and scripts
// that grep for them keep working whatever the locale.
constexpr char kSuccessMark[] = "\u221a";
constexpr char kWarningMark[] = "\u203c";
constexpr char kErrorMark[] = "\u00d7";

constexpr char kGreen[] = "\x1b[32m";
constexpr char kYellow[] = "\x1b[33m";
constexpr char kRed[] = "\x1b[31m";
constexpr char kReset[] = "\x1b[0m";

std::string mark(Verdict verdict, bool colour) {
  const char* text = kSuccessMark;
  const char* code = kGreen;
  if (verdict == Verdict::kWarning) {
    text = kWarningMark;
    code = kYellow;
  } else if (verdict == Verdict::kError) {
    text = kErrorMark;
    code = kRed;
  }
  if (!colour) return text;
  return std::string(code) + text + kReset;
}

std::string_view result_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kSuccess: return "success";
    case Verdict::kWarning: return "warning";
    case Verdict::kError: return "error";
  }
  return "error";
}

// An error may span lines (a chain of causes); each line keeps the indentation.
void append_indented(std::string& out, std::string_view text) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out += "    ";
    out.append(text.substr(start, end - start));
    out += '\n';
    start = end + 1;
  }
}

}  // namespace

CheckResult CheckResult::success(std::string description) {
  return {std::move(description), Verdict::kSuccess, {}, {}};
}

CheckResult CheckResult::warning(std::string description, std::string error, std::string hint) {
  return {std::move(description), Verdict::kWarning, std::move(error), std::move(hint)};
}

CheckResult CheckResult::failure(std::string description, std::string error, std::string hint) {
  return {std::move(description), Verdict::kError, std::move(error), std::move(hint)};
}

bool Report::success() const {
  return first_failure() == nullptr;
}

const CheckResult* Report::first_failure() const {
  for (const Category& category : categories) {
    for (const CheckResult& check : category.checks) {
      if (check.verdict == Verdict::kError) return &check;
    }
  }
  return nullptr;
}

std::string render_table(const Report& report, bool colour) {
  std::string out;
  for (const Category& category : report.categories) {
    out += category.name + "\n" + std::string(category.name.size(), '-') + "\n";
    for (const CheckResult& check : category.checks) {
      out += mark(check.verdict, colour) + " " + check.description + "\n";
      if (check.verdict == Verdict::kSuccess) continue;
      if (!check.error.empty()) append_indented(out, check.error);
      if (!check.hint.empty()) append_indented(out, "see: " + check.hint);
    }
    out += "\n";
  }
  out += "Status check results are " +
         mark(report.success() ? Verdict::kSuccess : Verdict::kError, colour) + "\n";
  return out;
}

std::string render_json(const Report& report) {
  // Ordered: the document reads in the table's order, "success" first.
  using Json = nlohmann::ordered_json;
  Json categories = Json::array();
  for (const Category& category : report.categories) {
    Json checks = Json::array();
    for (const CheckResult& check : category.checks) {
      Json c = {{"description", check.description}, {"result", result_name(check.verdict)}};
      if (check.verdict != Verdict::kSuccess) {
        c["error"] = check.error;
        c["hint"] = check.hint;
      }
      checks.push_back(std::move(c));
    }
    categories.push_back({{"name", category.name}, {"checks", std::move(checks)}});
  }
  Json doc = {{"success", report.success()}, {"categories", std::move(categories)}};
  // Replace, not throw, on invalid UTF-8 (a reason quoting a peer's bytes).
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace lmesh::cli::check
