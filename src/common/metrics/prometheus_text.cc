#include "common/metrics/prometheus_text.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <iterator>
#include <string_view>
#include <vector>

namespace lmesh::metrics {

namespace {

// Length of the valid UTF-8 sequence at the start of `s`, or 0 if it is not one.
size_t utf8_sequence_length(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// Escapes backslash and newline, and double quote too in label values. Label values can come
// from clients (authority); Prometheus rejects a whole scrape over one invalid UTF-8 value, so
// invalid bytes become U+FFFD.
void append_escaped(std::string& out, std::string_view s, bool escape_quote) {
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else if (static_cast<unsigned char>(c) < 0x80) {
      out += c;
    } else if (size_t n = utf8_sequence_length(s.substr(i)); n > 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    } else {
      out += "\xEF\xBF\xBD";
    }
    ++i;
  }
}

// Integral values print without a decimal point or exponent, others in the shortest form that
// reads back to the same double; non-finite values as the format spells them.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::trunc(v) && std::fabs(v) < 0x1p63) {
    out += fmt::format_int(static_cast<int64_t>(v)).c_str();
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

void append_uint(std::string& out, uint64_t v) {
  out += fmt::format_int(v).c_str();
}

// `a="x",b="y"`: the labels of one series, without braces, reused for each of its lines.
// An empty value is left out: Prometheus treats it as the label's absence, and a family whose
// label only some series have (grpc_status_code) reads cleaner without `x=""` on the rest.
std::string label_pairs(const FamilySnapshot& f, const SeriesSnapshot& s) {
  std::string pairs;
  for (size_t i = 0; i < f.label_names.size() && i < s.label_values.size(); ++i) {
    if (s.label_values[i].empty()) continue;
    if (!pairs.empty()) pairs += ',';
    pairs += f.label_names[i];
    pairs += "=\"";
    append_escaped(pairs, s.label_values[i], /*escape_quote=*/true);
    pairs += '"';
  }
  return pairs;
}

// One sample line: name[suffix]{pairs[,extra]} ; the value is appended by the caller.
void append_sample_head(std::string& out, std::string_view name, std::string_view suffix,
                        std::string_view pairs, std::string_view extra = {}) {
  out += name;
  out += suffix;
  if (!pairs.empty() || !extra.empty()) {
    out += '{';
    out += pairs;
    if (!pairs.empty() && !extra.empty()) out += ',';
    out += extra;
    out += '}';
  }
  out += ' ';
}

void append_histogram(std::string& out, const FamilySnapshot& f,
                      const std::vector<std::string>& le_pairs) {
  for (const SeriesSnapshot& s : f.series) {
    const std::string pairs = label_pairs(f, s);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < le_pairs.size() && i < s.bucket_counts.size(); ++i) {
      cumulative += s.bucket_counts[i];
      append_sample_head(out, f.name, "_bucket", pairs, le_pairs[i]);
      append_uint(out, cumulative);
      out += '\n';
    }
    append_sample_head(out, f.name, "_sum", pairs);
    append_number(out, s.sum);
    out += '\n';
    append_sample_head(out, f.name, "_count", pairs);
    append_uint(out, s.count);
    out += '\n';
  }
}

void append_family(std::string& out, const FamilySnapshot& f) {
  out += "# HELP ";
  out += f.name;
  out += ' ';
  append_escaped(out, f.help, /*escape_quote=*/false);
  out += "\n# TYPE ";
  out += f.name;
  out += ' ';
  out += to_string(f.type);
  out += '\n';

  if (f.type == MetricType::kHistogram) {
    // Formatted once per family rather than once per series.
    std::vector<std::string> le_pairs;
    le_pairs.reserve(f.upper_bounds.size() + 1);
    for (double bound : f.upper_bounds) {
      std::string le = "le=\"";
      append_number(le, bound);
      le += '"';
      le_pairs.push_back(std::move(le));
    }
    le_pairs.emplace_back("le=\"+Inf\"");
    append_histogram(out, f, le_pairs);
    return;
  }
  for (const SeriesSnapshot& s : f.series) {
    append_sample_head(out, f.name, "", label_pairs(f, s));
    append_number(out, s.value);
    out += '\n';
  }
}

}  // namespace

std::string render_prometheus(const Snapshot& snapshot) {
  std::string out;
  for (const FamilySnapshot& f : snapshot.families) append_family(out, f);
  return out;
}

}  // namespace lmesh::metrics
