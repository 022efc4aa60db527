#include "tap/prometheus_parser.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace lmesh::tap {
namespace {

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}
bool blank(char c) {
  return c == ' ' || c == '\t';
}

// A cursor over one line.
struct LineReader {
  std::string_view s;
  size_t pos = 0;

  bool done() const { return pos >= s.size(); }
  char peek() const { return done() ? '\0' : s[pos]; }
  void skip_blanks() {
    while (!done() && blank(s[pos])) ++pos;
  }
  std::string_view name(bool metric) {
    size_t start = pos;
    if (done() || !name_start(s[pos]) || (!metric && s[pos] == ':')) return {};
    while (!done() && name_char(s[pos]) && (metric || s[pos] != ':')) ++pos;
    return s.substr(start, pos - start);
  }
  std::string_view token() {
    size_t start = pos;
    while (!done() && !blank(s[pos])) ++pos;
    return s.substr(start, pos - start);
  }
};

Result<std::string> quoted_value(LineReader& r) {
  if (r.peek() != '"') return fail(ErrorCode::kProtocol, "expected '\"' before a label value");
  ++r.pos;
  std::string out;
  while (!r.done()) {
    char c = r.s[r.pos++];
    if (c == '"') return out;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (r.done()) break;
    char e = r.s[r.pos++];
    if (e == 'n') {
      out += '\n';
    } else if (e == '\\' || e == '"') {
      out += e;
    } else {
      return fail(ErrorCode::kProtocol, std::string("unknown escape \\") + e + " in a label value");
    }
  }
  return fail(ErrorCode::kProtocol, "unterminated label value");
}

Result<void> read_labels(LineReader& r, PromSample& sample) {
  ++r.pos;  // '{'
  while (true) {
    r.skip_blanks();
    if (r.peek() == '}') {
      ++r.pos;
      return {};
    }
    std::string_view key = r.name(/*metric=*/false);
    if (key.empty()) return fail(ErrorCode::kProtocol, "expected a label name");
    r.skip_blanks();
    if (r.peek() != '=') return fail(ErrorCode::kProtocol, "expected '=' after a label name");
    ++r.pos;
    r.skip_blanks();
    auto value = quoted_value(r);
    if (!value) return fail(value.error());
    sample.labels.emplace_back(std::string(key), std::move(*value));
    r.skip_blanks();
    if (r.peek() == ',') {
      ++r.pos;
    } else if (r.peek() != '}') {
      return fail(ErrorCode::kProtocol, "expected ',' or '}' after a label");
    }
  }
}

Result<PromSample> parse_sample(std::string_view line) {
  LineReader r{line};
  r.skip_blanks();
  PromSample sample;
  std::string_view name = r.name(/*metric=*/true);
  if (name.empty()) return fail(ErrorCode::kProtocol, "expected a metric name");
  sample.name = std::string(name);
  size_t after_name = r.pos;
  r.skip_blanks();
  if (r.peek() == '{') {
    if (auto ok = read_labels(r, sample); !ok) return fail(ok.error());
  } else {
    r.pos = after_name;
  }
  if (!r.done() && !blank(r.peek())) {
    return fail(ErrorCode::kProtocol, "expected a blank before the value");
  }
  r.skip_blanks();
  std::string_view value_text = r.token();
  auto value = parse_prometheus_value(value_text);
  if (!value) {
    return fail(ErrorCode::kProtocol, "bad value '" + std::string(value_text) + "'");
  }
  sample.value = *value;
  r.skip_blanks();
  if (!r.done()) {
    std::string_view ts = r.token();
    int64_t ignored = 0;
    auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), ignored);
    r.skip_blanks();
    if (ec != std::errc() || end != ts.data() + ts.size() || !r.done()) {
      return fail(ErrorCode::kProtocol, "unexpected text after the value");
    }
  }
  return sample;
}

}  // namespace

std::optional<std::string_view> PromSample::label(std::string_view key) const {
  for (const auto& [k, v] : labels) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<double> parse_prometheus_value(std::string_view text) {
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text.starts_with('+')) text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

Result<std::vector<PromSample>> parse_prometheus_text(std::string_view text) {
  std::vector<PromSample> samples;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    auto sample = parse_sample(line);
    if (!sample) {
      return fail(Error::wrap(sample.error(), "line " + std::to_string(line_no)));
    }
    samples.push_back(std::move(*sample));
  }
  return samples;
}

}  // namespace lmesh::tap
