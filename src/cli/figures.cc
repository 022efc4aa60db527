#include "cli/figures.h"

#include <cmath>
#include <cstdio>

namespace lmesh::cli {
namespace {

std::string printf_string(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

}  // namespace

std::string format_percent(double ratio) {
  return printf_string("%.2f%%", ratio * 100);
}

std::string format_rps(double rps) {
  return printf_string("%.1frps", rps);
}

std::string format_ms(double ms) {
  // Decide on the rounded value, so that 9.96 becomes "10ms" rather than "10.0ms".
  if (std::round(ms * 10) / 10 < 10) return printf_string("%.1fms", ms);
  return printf_string("%.0fms", ms);
}

std::string format_latency_us(uint64_t us) {
  if (us < 1000) return std::to_string(us) + "µs";
  return format_ms(static_cast<double>(us) / 1000);
}

}  // namespace lmesh::cli
