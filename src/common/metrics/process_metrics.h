// The standard process_* metrics (as the Prometheus Go client names them), read from /proc.
//
// They describe the whole process, so they are appended once to the merged snapshot at
// scrape time rather than kept in any worker's shard.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/metrics/snapshot.h"

namespace lmesh::metrics {

// Appends process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds and
// process_start_time_seconds. Call it once per scrape, after merging the worker shards. A value
// that cannot be read is left out rather than reported as zero.
void append_process_metrics(Snapshot& snapshot);

// The fields of /proc/self/stat used above (proc(5)); exposed for tests.
struct ProcStat {
  uint64_t utime_ticks = 0;       // field 14
  uint64_t stime_ticks = 0;       // field 15
  uint64_t start_time_ticks = 0;  // field 22: since boot
  uint64_t vsize_bytes = 0;       // field 23
  uint64_t rss_pages = 0;         // field 24
};
// The command name (field 2) is in parentheses and may itself hold spaces and ')', so fields
// are counted from the last ')'.
std::optional<ProcStat> parse_proc_stat(std::string_view text);
// The "btime" line of /proc/stat: boot time in seconds since the epoch.
std::optional<uint64_t> parse_boot_time(std::string_view proc_stat);

}  // namespace lmesh::metrics
