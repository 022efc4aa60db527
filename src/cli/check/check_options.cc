#include "cli/check/check_options.h"

#include <string_view>
#include <vector>

#include "cli/up/up_state.h"
#include "common/config/duration.h"
#include "common/config/setters.h"

namespace lmesh::cli::check {
namespace {

// The environment is read by up::default_state_dir() for its three variables only, not through
// apply_flags' prefix rule (a user's unrelated LMESH_WAIT must not become --wait).
const char* no_environment(const char*) {
  return nullptr;
}

// The longest wait accepted: a check that has not passed in an hour will not.
constexpr std::chrono::milliseconds kMaxWait = std::chrono::hours(1);

std::vector<config::Flag<CheckOptions>> check_flags() {
  return {
      {"state-dir", "DIR",
       "lmesh up's state (default: env LMESH_STATE_DIR, /var/lib/lmesh/up "
       "as root, else ~/.local/state/lmesh/up)",
       [](CheckOptions& o, std::string_view v) { return config::set_string(o.state_dir, v); }},
      {"output", "table|json", "-o: the table (default) or the results as JSON",
       [](CheckOptions& o, std::string_view v) -> Result<void> {
         if (v == "table") o.output = Output::kTable;
         if (v == "json") o.output = Output::kJson;
         if (v == "table" || v == "json") return {};
         return fail(ErrorCode::kInvalidArgument, "use table or json");
       }},
      {"wait", "DURATION", "retry failing checks for this long, e.g. 30s (default 0: no retry)",
       [](CheckOptions& o, std::string_view v) -> Result<void> {
         auto d = config::parse_duration(v);
         if (!d) return fail(d.error());
         if (*d > kMaxWait) return fail(ErrorCode::kInvalidArgument, "at most 1h");
         o.wait = *d;
         return {};
       }},
  };
}

}  // namespace

Result<std::optional<CheckOptions>> parse_check_options(Args args, config::GetEnvFn getenv_fn,
                                                        bool is_root) {
  CheckOptions options;
  // --pre takes no value, which apply_flags' rows cannot say; -o is short for --output.
  std::vector<std::string> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--pre") {
      options.pre = true;
    } else if (a == "-h" || a == "--help") {
      flags.push_back(a);
    } else if (a == "-o" || (a.starts_with("--") && a.find('=') == std::string::npos)) {
      // Every other flag takes a value: the next word is it, even when it starts with "-".
      flags.push_back(a == "-o" ? "--output" : a);
      if (i + 1 < args.size()) flags.push_back(args[++i]);
    } else if (a.starts_with("--")) {
      flags.push_back(a);  // --flag=value
    } else if (a.starts_with("-o") && a.size() > 2) {
      flags.push_back("--output=" + a.substr(2));  // -ojson, as kubectl takes it
    } else {
      return fail(config::unexpected_argument(a));
    }
  }
  auto help = config::apply_flags(check_flags(), "LMESH_", flags, &no_environment, options);
  if (!help) return fail(help.error());
  if (*help) return std::optional<CheckOptions>();
  if (options.state_dir.empty()) {
    auto dir = up::default_state_dir(getenv_fn, is_root);
    if (!dir) return fail(dir.error());
    options.state_dir = std::move(*dir);
  }
  return std::optional<CheckOptions>(std::move(options));
}

std::string check_usage() {
  return "usage: lmesh check [--pre] [--state-dir DIR] [-o table|json] [--wait DURATION]\n\n"
         "Checks that the mesh lmesh up runs is healthy: lmesh up itself, the control plane,\n"
         "the certificates of identity and every pod's proxy. With --pre, checks instead that\n"
         "this machine can run lmesh up. Exits 0 when no check fails (warnings pass), 1 when\n"
         "one does.\n\n"
         "flags:\n" +
         config::usage_line("pre", "", "check that lmesh up can run here (before it runs)") +
         config::usage_lines(check_flags()) +
         "\nThe state dir defaults to $LMESH_STATE_DIR, else /var/lib/lmesh/up as root, else\n"
         "$XDG_STATE_HOME/lmesh/up or ~/.local/state/lmesh/up, as for lmesh up.\n";
}

}  // namespace lmesh::cli::check
