#include "cli/up/process_ref.h"

#include <charconv>
#include <utility>

#include "common/fs/read_file.h"

namespace lmesh::up {
namespace {

std::optional<std::string> read_stat(pid_t pid) {
  auto stat = fs::read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat) return std::nullopt;
  return std::move(*stat);
}

bool exited(char state) {
  return state == 'Z' || state == 'X';  // a zombie waits to be reaped; X: dead
}

}  // namespace

std::optional<StatFields> parse_proc_stat(std::string_view line) {
  size_t close = line.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  // After ") " come fields 3, 4, ...: field 22 is the 20th of them.
  std::string_view rest = line.substr(close + 1);
  StatFields out;
  int field = 2;
  size_t pos = 0;
  while (pos < rest.size()) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    size_t end = rest.find(' ', pos);
    if (end == std::string_view::npos) end = rest.size();
    if (pos == end) break;
    std::string_view token = rest.substr(pos, end - pos);
    ++field;
    if (field == 3) {
      if (token.size() != 1) return std::nullopt;
      out.state = token[0];
    } else if (field == 22) {
      auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), out.start_time);
      if (ec != std::errc() || p != token.data() + token.size()) return std::nullopt;
      return out;
    }
    pos = end;
  }
  return std::nullopt;
}

Liveness judge_liveness(const ProcessRef& expected, const std::optional<std::string>& stat) {
  if (expected.pid <= 0) return Liveness::kNotStarted;
  if (!stat) return Liveness::kGone;
  auto fields = parse_proc_stat(*stat);
  if (!fields || exited(fields->state)) return Liveness::kGone;
  if (fields->start_time != expected.start_time) return Liveness::kReplaced;
  return Liveness::kAlive;
}

Liveness liveness(const ProcessRef& ref) {
  if (ref.pid <= 0) return Liveness::kNotStarted;
  return judge_liveness(ref, read_stat(ref.pid));
}

bool alive(const ProcessRef& ref) {
  return liveness(ref) == Liveness::kAlive;
}

std::optional<uint64_t> process_start_time(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto stat = read_stat(pid);
  if (!stat) return std::nullopt;
  auto fields = parse_proc_stat(*stat);
  if (!fields || exited(fields->state)) return std::nullopt;
  return fields->start_time;
}

ProcessRef process_ref(pid_t pid) {
  auto start = process_start_time(pid);
  if (!start) return {};
  return {pid, *start};
}

}  // namespace lmesh::up
