#include "cli/check/observations.h"

#include <cstdlib>

namespace lmesh::cli::check {
namespace {

// The lines of `text` that are samples of `name` with labels: what follows `name{`.
template <typename Visit>
void for_each_labelled_sample(std::string_view text, std::string_view name, Visit visit) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == '{') {
      if (visit(line.substr(name.size() + 1))) return;
    }
  }
}

// `labels` is what follows '{': `a="x",b="y"} 1`. The value of `label`, nullopt when it is
// absent or the set is malformed (the exposition format's escapes are \\, \" and \n).
std::optional<std::string> label_value(std::string_view labels, std::string_view label) {
  size_t i = 0;
  auto skip_spaces = [&] {
    while (i < labels.size() && labels[i] == ' ') ++i;
  };
  for (;;) {
    skip_spaces();
    if (i >= labels.size()) return std::nullopt;
    if (labels[i] == '}') return std::nullopt;
    size_t equals = labels.find('=', i);
    if (equals == std::string_view::npos || equals + 1 >= labels.size()) return std::nullopt;
    std::string_view key = labels.substr(i, equals - i);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    i = equals + 1;
    skip_spaces();
    if (i >= labels.size() || labels[i] != '"') return std::nullopt;
    ++i;
    std::string value;
    bool closed = false;
    while (i < labels.size()) {
      char c = labels[i++];
      if (c == '"') {
        closed = true;
        break;
      }
      if (c == '\\') {
        if (i >= labels.size()) return std::nullopt;
        char e = labels[i++];
        value += e == 'n' ? '\n' : e;
      } else {
        value += c;
      }
    }
    if (!closed) return std::nullopt;
    if (key == label) return value;
    skip_spaces();
    if (i < labels.size() && labels[i] == ',') ++i;
  }
}

}  // namespace

std::string describe_not_running(const ProcessObservation& process) {
  std::string pid = std::to_string(process.pid);
  switch (process.liveness) {
    case up::Liveness::kAlive: return "";
    case up::Liveness::kNotStarted: return "not started (no pid in state.json)";
    case up::Liveness::kGone: return "process " + pid + " has exited";
    case up::Liveness::kReplaced:
      return "process " + pid + " has exited (the pid now belongs to another process)";
  }
  return "";
}

std::optional<double> metric_value(std::string_view text, std::string_view name) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with(name) || line.size() == name.size()) continue;
    std::string_view rest = line.substr(name.size());
    if (rest[0] == '{') {
      size_t close = rest.rfind('}');
      if (close == std::string_view::npos) continue;
      rest = rest.substr(close + 1);
    } else if (rest[0] != ' ') {
      continue;  // another metric whose name starts with `name`
    }
    while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    std::string value(rest.substr(0, rest.find(' ')));
    char* parsed_end = nullptr;
    double v = std::strtod(value.c_str(), &parsed_end);
    if (value.empty() || parsed_end != value.c_str() + value.size()) continue;
    return v;
  }
  return std::nullopt;
}

std::optional<std::string> metric_label(std::string_view text, std::string_view name,
                                        std::string_view label) {
  std::optional<std::string> out;
  for_each_labelled_sample(text, name, [&](std::string_view labels) {
    out = label_value(labels, label);
    return out.has_value();
  });
  return out;
}

}  // namespace lmesh::cli::check
