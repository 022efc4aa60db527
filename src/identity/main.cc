// lmesh-identity: the mesh's certificate authority. See README.md in this directory.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/log/log.h"
#include "identity/config.h"
#include "identity/identity_service.h"

int main(int argc, char** argv) {
  // Writes to a closed socket must fail with EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = lmesh::identity::parse_args(
      args, [](const char* n) -> const char* { return std::getenv(n); });
  if (!parsed) {
    std::fprintf(stderr, "lmesh-identity: %s\n", parsed.error().describe().c_str());
    return 2;
  }
  if (parsed->help) {
    std::fputs(lmesh::identity::usage().c_str(), stdout);
    return 0;
  }
  const auto& config = parsed->config;
  if (auto ok = lmesh::log::init("lmesh-identity", config.log_format, config.log_level); !ok) {
    std::fprintf(stderr, "lmesh-identity: %s\n", ok.error().describe().c_str());
    return 2;
  }

  lmesh::identity::IdentityService service(config);
  if (auto ok = service.start(); !ok) {
    spdlog::error("cannot start: {}", ok.error().describe());
    return 1;
  }
  service.run();
  return 0;
}
