// lmesh-proxy: the sidecar. See README.md in this directory for what it does and its flags.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/log/log.h"
#include "proxy/config.h"
#include "proxy/proxy.h"

int main(int argc, char** argv) {
  // Writes to a closed socket must fail with EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed =
      lmesh::proxy::parse_args(args, [](const char* n) -> const char* { return std::getenv(n); });
  if (!parsed) {
    std::fprintf(stderr, "lmesh-proxy: %s\n", parsed.error().describe().c_str());
    return 2;
  }
  if (parsed->help) {
    std::fputs(lmesh::proxy::usage().c_str(), stdout);
    return 0;
  }
  const auto& config = parsed->config;
  if (auto ok = lmesh::proxy::validate(config); !ok) {
    std::fprintf(stderr, "lmesh-proxy: %s\n", ok.error().describe().c_str());
    return 2;
  }
  if (auto ok = lmesh::log::init("lmesh-proxy", config.log_format, config.log_level); !ok) {
    std::fprintf(stderr, "lmesh-proxy: %s\n", ok.error().describe().c_str());
    return 2;
  }

  lmesh::proxy::Proxy proxy(config);
  if (auto ok = proxy.start(); !ok) {
    spdlog::error("cannot start: {}", ok.error().describe());
    return 1;
  }
  proxy.run();
  return 0;
}
