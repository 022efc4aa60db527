#include "destination/config.h"

#include <string_view>

#include "common/config/duration.h"

namespace lmesh::destination {
namespace {

using Setting = config::Flag<DestinationConfig>;
constexpr std::string_view kEnvPrefix = "LMESH_DESTINATION_";
constexpr auto kMaxDebounce = std::chrono::milliseconds(10'000);

Result<void> set_address(net::SocketAddress& out, std::string_view v) {
  auto hp = net::HostPort::parse(v);
  if (!hp) return fail(hp.error());
  auto addr = hp->resolve();
  if (!addr) return fail(addr.error());
  out = *addr;
  return {};
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> kSettings = {
      {"listen", "ADDR", "API listener: /v1/resolve /v1/profile /metrics /ready (0.0.0.0:8086)",
       [](DestinationConfig& c, std::string_view v) { return set_address(c.listen, v); }},
      {"mesh-file", "FILE", "the services, YAML or JSON; re-read when it changes (required)",
       [](DestinationConfig& c, std::string_view v) -> Result<void> {
         if (v.empty()) return fail(ErrorCode::kInvalidArgument, "an empty path");
         c.mesh_file = std::string(v);
         return {};
       }},
      {"reload-debounce", "DURATION", "quiet time after a mesh file change before reading (50ms)",
       [](DestinationConfig& c, std::string_view v) -> Result<void> {
         auto d = config::parse_duration(v);
         if (!d) return fail(d.error());
         if (*d > kMaxDebounce) return fail(ErrorCode::kInvalidArgument, "must be at most 10s");
         c.reload_debounce = *d;
         return {};
       }},
      {"log-level", "LEVEL", "trace, debug, info, warn, error, off (info)",
       [](DestinationConfig& c, std::string_view v) -> Result<void> {
         if (auto ok = log::check_level(v); !ok) return ok;
         c.log_level = std::string(v);
         return {};
       }},
      {"log-format", "FORMAT", "text or json (text)",
       [](DestinationConfig& c, std::string_view v) -> Result<void> {
         auto f = log::parse_format(v);
         if (!f) return fail(f.error());
         c.log_format = *f;
         return {};
       }},
  };
  return kSettings;
}

}  // namespace

Result<ParsedArgs> parse_args(const std::vector<std::string>& args, GetEnvFn getenv_fn) {
  DestinationConfig config;
  // Every interface, as lmesh-identity does: the destination service is reached by the proxies
  // of other hosts (pods), not only from loopback.
  config.listen = *net::SocketAddress::parse("0.0.0.0:8086");
  auto help = config::apply_flags(settings(), kEnvPrefix, args, getenv_fn, config);
  if (!help) return fail(help.error());
  if (*help) return ParsedArgs{std::move(config), true};
  if (config.mesh_file.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "--mesh-file FILE is required (the services to serve; see --help)");
  }
  return ParsedArgs{std::move(config), false};
}

std::string usage() {
  std::string out =
      "usage: lmesh-destination --mesh-file FILE [flags]\n\n"
      "The lmesh destination service: tells proxies where a service's endpoints are\n"
      "(GET /v1/resolve?authority=host:port) and how to treat its requests (GET\n"
      "/v1/profile?authority=host:port), as streams that follow every change of the mesh file.\n"
      "Every flag can also be set as an environment variable LMESH_DESTINATION_<FLAG> (e.g.\n"
      "LMESH_DESTINATION_MESH_FILE); flags win over the environment.\n"
      "Durations take a unit: 50ms, 1s.\n\nflags:\n";
  return out + config::usage_lines(settings());
}

}  // namespace lmesh::destination
