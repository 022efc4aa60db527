#include "tap/config.h"

#include "common/config/duration.h"
#include "common/config/setters.h"
#include "common/tls/identity_name.h"

namespace lmesh::tap {
namespace {

using Setting = config::Flag<TapConfig>;
constexpr std::string_view kEnvPrefix = "LMESH_TAP_";
// Below this a scrape round could not finish before the next one starts.
constexpr auto kMinScrapeInterval = std::chrono::milliseconds(100);
constexpr auto kMaxRetention = std::chrono::hours(24 * 7);

Result<void> set_bounded(std::chrono::milliseconds& out, std::string_view v,
                         std::chrono::milliseconds min, std::chrono::milliseconds max,
                         std::string_view bounds) {
  auto d = config::parse_duration(v);
  if (!d) return fail(d.error());
  if (*d < min || *d > max) return fail(ErrorCode::kInvalidArgument, std::string(bounds));
  out = *d;
  return {};
}

// Identity comes as a set (as the proxy's flags): the address alone could never get a
// certificate, and a token or anchors without the address would be silently ignored.
Result<void> validate(const TapConfig& c) {
  const std::pair<const char*, const std::string*> needed[] = {
      {"--identity-token-file", &c.identity_token_file},
      {"--trust-anchors", &c.trust_anchors_file}};
  for (auto [flag, value] : needed) {
    if (c.identity_enabled() && value->empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string("--identity-addr needs ") + flag + " too");
    }
    if (!c.identity_enabled() && !value->empty()) {
      return fail(ErrorCode::kInvalidArgument, std::string(flag) + " needs --identity-addr too");
    }
  }
  return {};
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> kSettings = {
      {"listen", "ADDR", "API listener: /v1/tap /v1/stat /metrics /ready /live (0.0.0.0:8088)",
       [](TapConfig& c, std::string_view v) { return config::set_address(c.listen, v); }},
      {"destination-addr", "ADDR", "lmesh-destination, for the pods of targets (127.0.0.1:8086)",
       [](TapConfig& c, std::string_view v) { return config::set_address(c.destination_addr, v); }},
      {"scrape-interval", "DURATION", "how often every proxy's /metrics is read (10s)",
       [](TapConfig& c, std::string_view v) {
         return set_bounded(c.scrape_interval, v, kMinScrapeInterval, std::chrono::hours(1),
                            "must be between 100ms and 1h");
       }},
      {"stat-retention", "DURATION", "how long scraped samples are kept (1h)",
       [](TapConfig& c, std::string_view v) {
         return set_bounded(c.stat_retention, v, std::chrono::seconds(1), kMaxRetention,
                            "must be between 1s and 168h");
       }},
      {"identity-addr", "HOST:PORT", "lmesh-identity's API; enables identity and mTLS to proxies",
       [](TapConfig& c, std::string_view v) {
         return config::set_optional_address(c.identity_addr, v);
       }},
      {"identity-name", "NAME",
       "this service's identity, the proxies' --tap-identity "
       "(tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local)",
       [](TapConfig& c, std::string_view v) { return tls::set_identity_name(c.identity_name, v); }},
      {"identity-token-file", "FILE", "token proving the identity (a ServiceAccount token)",
       [](TapConfig& c, std::string_view v) {
         return config::set_string(c.identity_token_file, v);
       }},
      {"trust-anchors", "FILE", "PEM bundle of the mesh's root certificates",
       [](TapConfig& c, std::string_view v) {
         return config::set_string(c.trust_anchors_file, v);
       }},
      {"identity-server-name", "NAME",
       "the identity lmesh-identity must prove over TLS "
       "(identity.lmesh-system.serviceaccount.identity.lmesh.cluster.local)",
       [](TapConfig& c, std::string_view v) {
         return config::set_string(c.identity_server_name, v);
       }},
      {"log-level", "LEVEL", "trace, debug, info, warn, error, off (info)",
       [](TapConfig& c, std::string_view v) { return config::set_log_level(c.log_level, v); }},
      {"log-format", "FORMAT", "text or json (text)",
       [](TapConfig& c, std::string_view v) { return config::set_log_format(c.log_format, v); }},
  };
  return kSettings;
}

}  // namespace

Result<ParsedArgs> parse_args(const std::vector<std::string>& args, config::GetEnvFn getenv_fn) {
  TapConfig c;
  c.listen = *net::SocketAddress::parse("0.0.0.0:8088");
  c.destination_addr = *net::SocketAddress::parse("127.0.0.1:8086");
  auto help = config::apply_flags(settings(), kEnvPrefix, args, getenv_fn, c);
  if (!help) return fail(help.error());
  if (*help) return ParsedArgs{std::move(c), true};
  if (auto ok = validate(c); !ok) return fail(ok.error());
  return ParsedArgs{std::move(c), *help};
}

std::string usage() {
  std::string out =
      "usage: lmesh-tap [flags]\n\n"
      "The lmesh tap service: fans GET /v1/tap out to the proxies of a target (found through\n"
      "lmesh-destination's /v1/pods) and merges their live request events in time order;\n"
      "scrapes every proxy's /metrics and answers GET /v1/stat with success rates, request\n"
      "rates and latency quantiles over a window.\n"
      "Every flag can also be set as an environment variable LMESH_TAP_<FLAG> (e.g.\n"
      "LMESH_TAP_DESTINATION_ADDR); flags win over the environment.\n"
      "Durations take a unit: 500ms, 10s, 1h.\n\nflags:\n";
  return out + config::usage_lines(settings());
}

}  // namespace lmesh::tap
