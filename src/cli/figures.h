// Figures as `lmesh stat` and `lmesh top` print them, Linkerd's way: "99.50%", "20.0rps".
// Latencies keep one decimal below 10 ms ("2.1ms") and are whole milliseconds above ("12ms"):
// Linkerd rounds every latency to whole milliseconds, which shows a fast mesh as "0ms" or "1ms"
// and hides the differences people run `stat` to see.
#pragma once

#include <cstdint>
#include <string>

namespace lmesh::cli {

std::string format_percent(double ratio);  // 0.995 → "99.50%"
std::string format_rps(double rps);        // 20 → "20.0rps"
std::string format_ms(double ms);          // 2.14 → "2.1ms", 12.4 → "12ms"
// Below a millisecond in microseconds ("870µs"), else as format_ms.
std::string format_latency_us(uint64_t us);

}  // namespace lmesh::cli
