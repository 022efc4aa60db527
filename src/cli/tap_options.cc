#include "cli/tap_options.h"

#include <charconv>
#include <string_view>

#include "common/config/setters.h"

namespace lmesh::cli {
namespace {

constexpr char kTapAddrEnv[] = "LMESH_TAP_ADDR";

// The environment is read here, for LMESH_TAP_ADDR only, not through apply_flags' prefix rule.
const char* no_environment(const char*) {
  return nullptr;
}

// Command-line words split into the one positional TARGET and "--flag value" pairs that
// config::apply_flags understands. Every flag of these commands takes a value, so the word after
// a flag is its value even when it does not start with "--"; short flags map to long ones.
struct SplitArgs {
  std::vector<std::string> flags;
  std::vector<std::string> positional;
  bool help = false;
};

Result<SplitArgs> split_args(Args args) {
  SplitArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out.help = true;
      continue;
    }
    std::string name;
    if (a == "-n") name = "--namespace";
    if (a == "-o") name = "--output";
    if (a == "-t") name = "--window";
    if (name.empty() && a.starts_with("--")) {
      out.flags.push_back(a);
      if (a.find('=') == std::string::npos && i + 1 < args.size()) out.flags.push_back(args[++i]);
      continue;
    }
    if (name.empty() && a.size() > 1 && a.starts_with("-")) {
      return fail(ErrorCode::kInvalidArgument, "unknown flag '" + a + "' (see --help)");
    }
    if (name.empty()) {
      out.positional.push_back(a);
      continue;
    }
    out.flags.push_back(name);
    if (i + 1 < args.size()) out.flags.push_back(args[++i]);
  }
  return out;
}

Result<std::string> one_target(const SplitArgs& split) {
  if (split.positional.empty()) {
    return fail(ErrorCode::kInvalidArgument, "a TARGET is required (e.g. deploy/web)");
  }
  if (split.positional.size() > 1) {
    return fail(ErrorCode::kInvalidArgument, "unexpected argument '" + split.positional[1] + "'");
  }
  return split.positional[0];
}

Result<void> set_host_port(net::HostPort& out, std::string_view v) {
  auto parsed = net::HostPort::parse(v);
  if (!parsed) return fail(parsed.error());
  out = *parsed;
  return {};
}

Result<void> set_max_rps(std::string& out, std::string_view v) {
  double rps = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), rps);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
    return fail(ErrorCode::kInvalidArgument, "'" + std::string(v) + "' is not a number");
  }
  // The range lmesh-proxy accepts (src/tap/README.md), checked here for a clearer message.
  if (rps < 0.1 || rps > 100000) {
    return fail(ErrorCode::kInvalidArgument, "must be between 0.1 and 100000");
  }
  out = v;
  return {};
}

// Defaults first, then LMESH_TAP_ADDR, then the flags (which win).
Result<void> apply_tap_addr_env(net::HostPort& out, config::GetEnvFn getenv_fn) {
  auto fallback = set_host_port(out, kDefaultTapAddr);
  if (!fallback) return fallback;
  const char* v = getenv_fn(kTapAddrEnv);
  if (v == nullptr || *v == '\0') return {};
  if (auto ok = set_host_port(out, v); !ok) {
    return fail(config::bad_setting(kTapAddrEnv, v, ok.error()));
  }
  return {};
}

std::vector<config::Flag<TapOptions>> tap_flags(bool allow_output) {
  std::vector<config::Flag<TapOptions>> flags = {
      {"namespace", "NS", "-n: the target's namespace (default: default)",
       [](TapOptions& o, std::string_view v) { return config::set_string(o.namespace_name, v); }},
      {"to", "TARGET", "only requests to pods of this target",
       [](TapOptions& o, std::string_view v) { return config::set_string(o.to, v); }},
      {"to-namespace", "NS", "the --to target's namespace (default: the target's)",
       [](TapOptions& o, std::string_view v) { return config::set_string(o.to_namespace, v); }},
      {"method", "M", "only requests with this method",
       [](TapOptions& o, std::string_view v) { return config::set_string(o.method, v); }},
      {"path", "P", "only requests whose path starts with P",
       [](TapOptions& o, std::string_view v) { return config::set_string(o.path_prefix, v); }},
      {"authority", "A", "only requests for this authority",
       [](TapOptions& o, std::string_view v) { return config::set_string(o.authority, v); }},
      {"max-rps", "N", "at most N requests per second tapped, over all proxies (default 100)",
       [](TapOptions& o, std::string_view v) { return set_max_rps(o.max_rps, v); }},
  };
  if (allow_output) {
    flags.push_back({"output", "wide|json", "-o: wide adds the proxy's pod; json prints events",
                     [](TapOptions& o, std::string_view v) -> Result<void> {
                       if (v == "wide") o.output = TapOutput::kWide;
                       if (v == "json") o.output = TapOutput::kJson;
                       if (v == "wide" || v == "json") return {};
                       return fail(ErrorCode::kInvalidArgument, "use wide or json");
                     }});
  }
  flags.push_back({"tap-addr", "HOST:PORT",
                   "lmesh-tap's API (default 127.0.0.1:8088, env LMESH_TAP_ADDR)",
                   [](TapOptions& o, std::string_view v) { return set_host_port(o.tap_addr, v); }});
  return flags;
}

std::vector<config::Flag<StatOptions>> stat_flags() {
  return {
      {"namespace", "NS", "-n: the target's namespace (default: default)",
       [](StatOptions& o, std::string_view v) { return config::set_string(o.namespace_name, v); }},
      {"window", "DURATION", "-t: the span the figures cover, e.g. 30s, 1m (default 1m)",
       [](StatOptions& o, std::string_view v) -> Result<void> {
         auto d = config::parse_duration(v);
         if (!d) return fail(d.error());
         if (d->count() < 1000) return fail(ErrorCode::kInvalidArgument, "at least 1s");
         o.window = v;
         return {};
       }},
      {"output", "table|json", "-o: the table (default) or the rows as JSON",
       [](StatOptions& o, std::string_view v) -> Result<void> {
         if (v == "table") o.output = StatOutput::kTable;
         if (v == "json") o.output = StatOutput::kJson;
         if (v == "table" || v == "json") return {};
         return fail(ErrorCode::kInvalidArgument, "use table or json");
       }},
      {"tap-addr", "HOST:PORT", "lmesh-tap's API (default 127.0.0.1:8088, env LMESH_TAP_ADDR)",
       [](StatOptions& o, std::string_view v) { return set_host_port(o.tap_addr, v); }},
  };
}

std::vector<config::Flag<DashboardOptions>> dashboard_flags() {
  return {
      {"namespace", "NS", "-n: the deployment's namespace (default: default)",
       [](DashboardOptions& o, std::string_view v) {
         return config::set_string(o.namespace_name, v);
       }},
      {"tap-addr", "HOST:PORT", "lmesh-tap's API (default 127.0.0.1:8088, env LMESH_TAP_ADDR)",
       [](DashboardOptions& o, std::string_view v) { return set_host_port(o.tap_addr, v); }},
  };
}

// tap, top and stat: exactly one TARGET, any kind.
template <class Options>
Result<void> take_one_target(const SplitArgs& split, Options& options) {
  auto target = one_target(split);
  if (!target) return fail(target.error());
  options.target = *target;
  return {};
}

// dashboard: at most one, a deployment (the page taps deployments; its tables cover the rest).
Result<void> take_deployment(const SplitArgs& split, DashboardOptions& options) {
  if (split.positional.size() > 1) {
    return fail(ErrorCode::kInvalidArgument, "unexpected argument '" + split.positional[1] + "'");
  }
  if (split.positional.empty()) return {};
  const std::string& target = split.positional[0];
  size_t slash = target.find('/');
  std::string_view kind = std::string_view(target).substr(0, slash);
  if (slash == std::string::npos || slash + 1 == target.size() ||
      (kind != "deploy" && kind != "deployment" && kind != "deployments")) {
    return fail(ErrorCode::kInvalidArgument,
                "'" + target + "': the dashboard opens on a deployment (deploy/NAME)");
  }
  options.deployment = target.substr(slash + 1);
  return {};
}

template <class Options>
Parsed<Options> parse(Args args, config::GetEnvFn getenv_fn,
                      const std::vector<config::Flag<Options>>& flags,
                      Result<void> (*take_target)(const SplitArgs&, Options&)) {
  auto split = split_args(args);
  if (!split) return fail(split.error());
  if (split->help) return std::optional<Options>();
  Options options;
  if (auto ok = apply_tap_addr_env(options.tap_addr, getenv_fn); !ok) return fail(ok.error());
  auto help = config::apply_flags(flags, "LMESH_", split->flags, &no_environment, options);
  if (!help) return fail(help.error());
  if (*help) return std::optional<Options>();
  if (auto ok = take_target(*split, options); !ok) return fail(ok.error());
  return std::optional<Options>(std::move(options));
}

void add_param(std::string& out, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  out += out.find('?') == std::string::npos ? '?' : '&';
  out.append(name).append("=").append(url_encode(value));
}

}  // namespace

Parsed<DashboardOptions> parse_dashboard_options(Args args, config::GetEnvFn getenv_fn) {
  return parse(args, getenv_fn, dashboard_flags(), &take_deployment);
}

Parsed<TapOptions> parse_tap_options(Args args, config::GetEnvFn getenv_fn, bool allow_output) {
  return parse(args, getenv_fn, tap_flags(allow_output), &take_one_target<TapOptions>);
}

Parsed<StatOptions> parse_stat_options(Args args, config::GetEnvFn getenv_fn) {
  return parse(args, getenv_fn, stat_flags(), &take_one_target<StatOptions>);
}

std::string tap_flags_usage(bool allow_output) {
  return config::usage_lines(tap_flags(allow_output));
}

std::string stat_flags_usage() {
  return config::usage_lines(stat_flags());
}

std::string dashboard_flags_usage() {
  return config::usage_lines(dashboard_flags());
}

std::string dashboard_url(const DashboardOptions& o) {
  std::string url = "http://" + o.tap_addr.to_string() + "/";
  if (!o.deployment.empty()) {
    url += "#ns=" + url_encode(o.namespace_name) + "&tap=" + url_encode(o.deployment);
  }
  return url;
}

std::string tap_request_target(const TapOptions& o) {
  std::string out = "/v1/tap";
  add_param(out, "target", o.target);
  add_param(out, "namespace", o.namespace_name);
  add_param(out, "to", o.to);
  add_param(out, "to_namespace", o.to_namespace);
  add_param(out, "method", o.method);
  add_param(out, "path_prefix", o.path_prefix);
  add_param(out, "authority", o.authority);
  add_param(out, "max_rps", o.max_rps);
  return out;
}

std::string stat_request_target(const StatOptions& o) {
  std::string out = "/v1/stat";
  add_param(out, "target", o.target);
  add_param(out, "namespace", o.namespace_name);
  add_param(out, "window", o.window);
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
                      u == '-' || u == '.' || u == '_' || u == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

}  // namespace lmesh::cli
