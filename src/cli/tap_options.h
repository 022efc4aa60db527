// The flags of `lmesh tap`, `lmesh top` and `lmesh stat`, parsed into typed options without any
// I/O, and the lmesh-tap request targets they become (src/tap/README.md "Wire formats").
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.h"
#include "common/config/flags.h"
#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::cli {

// Where lmesh-tap listens unless --tap-addr or LMESH_TAP_ADDR says otherwise.
inline constexpr char kDefaultTapAddr[] = "127.0.0.1:8088";

enum class TapOutput { kDefault, kWide, kJson };

// `lmesh tap` and `lmesh top` share these: both follow GET /v1/tap.
struct TapOptions {
  std::string target;  // KIND/NAME or KIND, as lmesh-tap takes it
  std::string namespace_name = "default";
  std::string to;  // only requests to pods of this target
  std::string to_namespace;
  std::string method;
  std::string path_prefix;
  std::string authority;
  std::string max_rps;  // as typed (already checked to be a number in range): lmesh-tap parses it
  TapOutput output = TapOutput::kDefault;
  net::HostPort tap_addr;
};

enum class StatOutput { kTable, kJson };

struct StatOptions {
  std::string target;
  std::string namespace_name = "default";
  std::string window = "1m";  // as typed, checked by config::parse_duration
  StatOutput output = StatOutput::kTable;
  net::HostPort tap_addr;
};

// `lmesh dashboard [deploy/NAME]`: where lmesh-tap's web dashboard is, optionally opened on a
// deployment's live requests.
struct DashboardOptions {
  std::string deployment;  // NAME of deploy/NAME; empty: the overview
  std::string namespace_name = "default";
  net::HostPort tap_addr;
};

// The outcome of parsing a command line: options, or "--help was asked", or a usage error
// (kInvalidArgument, with a message naming the flag and the value).
template <class Options>
using Parsed = Result<std::optional<Options>>;

// `getenv_fn` is asked only for LMESH_TAP_ADDR (a user's unrelated LMESH_PATH must not become
// --path). `allow_output` is false for `top`, whose output is always the table.
Parsed<TapOptions> parse_tap_options(Args args, config::GetEnvFn getenv_fn, bool allow_output);
Parsed<StatOptions> parse_stat_options(Args args, config::GetEnvFn getenv_fn);
Parsed<DashboardOptions> parse_dashboard_options(Args args, config::GetEnvFn getenv_fn);

// The flags' usage lines, for the commands' help texts.
std::string tap_flags_usage(bool allow_output);
std::string stat_flags_usage();
std::string dashboard_flags_usage();

// "/v1/tap?target=deploy%2Fweb&namespace=default&..." (empty filters are left out).
std::string tap_request_target(const TapOptions& options);
std::string stat_request_target(const StatOptions& options);
// "http://127.0.0.1:8088/", or with a deployment "http://127.0.0.1:8088/#ns=default&tap=web"
// (the page reads its state from the fragment).
std::string dashboard_url(const DashboardOptions& options);

// RFC 3986 §2.3: everything but unreserved characters is percent-encoded.
std::string url_encode(std::string_view text);

}  // namespace lmesh::cli
