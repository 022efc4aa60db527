// lmesh-tap: live traffic and stats from the proxies. See README.md here.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/log/log.h"
#include "tap/config.h"
#include "tap/tap_service.h"

int main(int argc, char** argv) {
  // Writes to a closed socket must fail with EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed =
      lmesh::tap::parse_args(args, [](const char* n) -> const char* { return std::getenv(n); });
  if (!parsed) {
    std::fprintf(stderr, "lmesh-tap: %s\n", parsed.error().describe().c_str());
    return 2;
  }
  if (parsed->help) {
    std::fputs(lmesh::tap::usage().c_str(), stdout);
    return 0;
  }
  const auto& config = parsed->config;
  if (auto ok = lmesh::log::init("lmesh-tap", config.log_format, config.log_level); !ok) {
    std::fprintf(stderr, "lmesh-tap: %s\n", ok.error().describe().c_str());
    return 2;
  }

  lmesh::tap::TapService service(config);
  if (auto ok = service.start(); !ok) {
    spdlog::error("cannot start: {}", ok.error().describe());
    return 1;
  }
  service.run();
  return 0;
}
