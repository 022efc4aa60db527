#include "common/metrics/process_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <utility>

namespace lmesh::metrics {

namespace {

// /proc files report a size of 0, so read until EOF.
std::optional<std::string> read_proc_file(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  std::array<char, 4096> buf;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      if (n < 0) return std::nullopt;
      return text;
    }
    text.append(buf.data(), static_cast<size_t>(n));
  }
}

std::optional<uint64_t> parse_uint(std::string_view s) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The open descriptors, less the one used to list them.
std::optional<uint64_t> count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  const int own_fd = ::dirfd(dir);
  uint64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    if (parse_uint(entry->d_name) == static_cast<uint64_t>(own_fd)) continue;
    ++count;
  }
  ::closedir(dir);
  return count;
}

void add(Snapshot& snapshot, std::string name, std::string help, MetricType type, double value) {
  FamilySnapshot& f = snapshot.families.emplace_back();
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  f.series.emplace_back().value = value;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  const size_t comm_end = text.rfind(')');
  if (comm_end == std::string_view::npos) return std::nullopt;
  text.remove_prefix(comm_end + 1);

  // fields[0] is field 3 (state) of proc(5).
  constexpr size_t kFirstField = 3;
  constexpr size_t kLastField = 24;
  std::array<std::string_view, kLastField - kFirstField + 1> fields;
  size_t count = 0;
  while (count < fields.size()) {
    const size_t start = text.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    const size_t end = std::min(text.find_first_of(" \n"), text.size());
    fields[count++] = text.substr(0, end);
    text.remove_prefix(end);
  }
  if (count < fields.size()) return std::nullopt;

  const auto field = [&](size_t n) { return parse_uint(fields[n - kFirstField]); };
  const auto utime = field(14), stime = field(15), start = field(22), vsize = field(23),
             rss = field(24);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  ProcStat stat;
  stat.utime_ticks = *utime;
  stat.stime_ticks = *stime;
  stat.start_time_ticks = *start;
  stat.vsize_bytes = *vsize;
  stat.rss_pages = *rss;
  return stat;
}

std::optional<uint64_t> parse_boot_time(std::string_view proc_stat) {
  constexpr std::string_view kKey = "btime ";
  size_t pos = 0;
  while (pos < proc_stat.size()) {
    const size_t eol = std::min(proc_stat.find('\n', pos), proc_stat.size());
    const std::string_view line = proc_stat.substr(pos, eol - pos);
    if (line.starts_with(kKey)) return parse_uint(line.substr(kKey.size()));
    pos = eol + 1;
  }
  return std::nullopt;
}

void append_process_metrics(Snapshot& snapshot) {
  const double ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page_size = static_cast<double>(::sysconf(_SC_PAGESIZE));

  std::optional<ProcStat> stat;
  if (auto text = read_proc_file("/proc/self/stat")) stat = parse_proc_stat(*text);
  if (stat && ticks_per_second > 0) {
    add(snapshot, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
        MetricType::kCounter,
        static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks_per_second);
  }
  if (stat && page_size > 0) {
    add(snapshot, "process_resident_memory_bytes", "Resident memory size in bytes.",
        MetricType::kGauge, static_cast<double>(stat->rss_pages) * page_size);
  }
  if (stat) {
    add(snapshot, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
        MetricType::kGauge, static_cast<double>(stat->vsize_bytes));
  }
  if (auto fds = count_open_fds()) {
    add(snapshot, "process_open_fds", "Number of open file descriptors.", MetricType::kGauge,
        static_cast<double>(*fds));
  }
  if (rlimit limit; ::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    add(snapshot, "process_max_fds", "Maximum number of open file descriptors.", MetricType::kGauge,
        static_cast<double>(limit.rlim_cur));
  }
  std::optional<uint64_t> boot_time;
  if (auto text = read_proc_file("/proc/stat")) boot_time = parse_boot_time(*text);
  if (stat && boot_time && ticks_per_second > 0) {
    add(snapshot, "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.", MetricType::kGauge,
        static_cast<double>(*boot_time) +
            static_cast<double>(stat->start_time_ticks) / ticks_per_second);
  }
}

}  // namespace lmesh::metrics
