// Everything lmesh-tap can be told, parsed in one place (STYLE.md §10): command-line flags and
// LMESH_TAP_* environment variables become one immutable TapConfig. A bad value stops the
// service at start-up with a message naming the flag (or variable) and exit status 2.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/config/flags.h"
#include "common/log/log.h"
#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::tap {

struct TapConfig {
  // The API: /v1/tap, /v1/stat, /metrics, /ready, /live (HTTP/2 and HTTP/1.1).
  net::SocketAddress listen;
  // lmesh-destination, asked for the pods of a target (/v1/pods).
  net::SocketAddress destination_addr;
  // How often every proxy's /metrics is read for /v1/stat.
  std::chrono::milliseconds scrape_interval{10'000};
  // How long scraped samples are kept (the longest /v1/stat window).
  std::chrono::milliseconds stat_retention{3'600'000};

  std::string log_level = "info";
  log::Format log_format = log::Format::kText;
};

struct ParsedArgs {
  TapConfig config;
  bool help = false;
};

Result<ParsedArgs> parse_args(const std::vector<std::string>& args, config::GetEnvFn getenv_fn);
std::string usage();

}  // namespace lmesh::tap
