// Everything lmesh-destination can be told, parsed in one place (STYLE.md §10): command-line
// flags and LMESH_DESTINATION_* environment variables become one immutable DestinationConfig.
// A bad value stops the service at start-up with a message naming the flag (or variable).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/config/flags.h"
#include "common/log/log.h"
#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::destination {

struct DestinationConfig {
  // The API: /v1/resolve, /v1/profile, /metrics, /ready, /live (HTTP/2 and HTTP/1.1).
  net::SocketAddress listen;
  // The services, in YAML or JSON (mesh_file.h); re-read when it changes.
  std::string mesh_file;
  // How long the mesh file's directory must be quiet after a change before the file is read.
  std::chrono::milliseconds reload_debounce{50};

  std::string log_level = "info";
  log::Format log_format = log::Format::kText;
};

struct ParsedArgs {
  DestinationConfig config;
  bool help = false;
};

using GetEnvFn = config::GetEnvFn;
Result<ParsedArgs> parse_args(const std::vector<std::string>& args, GetEnvFn getenv_fn);
std::string usage();

}  // namespace lmesh::destination
