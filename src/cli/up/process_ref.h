// A process that `lmesh up` started, as state.json names it: by pid *and* start time, so that a
// pid the kernel has since given to an unrelated process is never signalled (`lmesh down`) nor
// reported as running (`lmesh check`).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lmesh::up {

// pid 0: not running. start_time is field 22 of /proc/PID/stat, in clock ticks after boot.
struct ProcessRef {
  pid_t pid = 0;
  uint64_t start_time = 0;

  bool operator==(const ProcessRef&) const = default;
};

// Field 3 (the state letter) and field 22 (the start time) of a /proc/PID/stat line; nullopt
// for a line that is not one. Field 2, the command name, is in parentheses and may itself hold
// spaces and parentheses, so fields are counted from the last ')'.
struct StatFields {
  char state = '?';
  uint64_t start_time = 0;
};
std::optional<StatFields> parse_proc_stat(std::string_view line);

enum class Liveness {
  kNotStarted,  // pid 0
  kAlive,
  kGone,      // no such process, or a zombie
  kReplaced,  // the pid belongs to another process (its start time differs)
};

// Pure: `stat` is /proc/PID/stat's text, nullopt when it could not be read (no such process).
// The start time must match exactly: a ref without one (0) names no process for certain, and a
// wrong guess here would send SIGTERM to a stranger.
Liveness judge_liveness(const ProcessRef& expected, const std::optional<std::string>& stat);

// The same, reading /proc.
Liveness liveness(const ProcessRef& ref);
// The very process `ref` names is still running (and not a zombie).
bool alive(const ProcessRef& ref);

// The start time of `pid` now, or nullopt when no such process runs.
std::optional<uint64_t> process_start_time(pid_t pid);
ProcessRef process_ref(pid_t pid);  // {pid, its start time}; {0, 0} when it is gone

}  // namespace lmesh::up
