// Command-line flags and their environment variables, parsed the same way by every binary
// (STYLE.md §10): each binary lists its settings as Flag rows that apply a value to the
// config it is building; apply_flags() reads the environment (PREFIX_<FLAG>) and the command
// line into it, and a bad value fails with a message naming the flag or variable and the value.
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace lmesh::config {

// One setting: its flag (without "--"), what its value looks like, one line of help, and how a
// value lands in the Target being built.
template <class Target>
struct Flag {
  std::string_view flag;
  std::string_view value_name;
  std::string_view help;
  std::function<Result<void>(Target&, std::string_view)> apply;
};

using GetEnvFn = const char* (*)(const char*);

// ("LMESH_PROXY_", "outbound-listen") -> "LMESH_PROXY_OUTBOUND_LISTEN"
std::string env_name(std::string_view prefix, std::string_view flag);
// "invalid --workers '0': <why>"
Error bad_setting(std::string_view source, std::string_view value, const Error& why);
Error unexpected_argument(std::string_view arg);
Error unknown_flag(std::string_view name);
Error missing_value(std::string_view name, std::string_view value_name);
// One usage line: "  --flag VALUE" padded to a column, then the help.
std::string usage_line(std::string_view flag, std::string_view value_name, std::string_view help);

// Applies the environment, then the command line, to `target`. A flag given on the command
// line wins, and the environment's value for it is not even looked at (a stale bad variable
// must not stop a corrected command line). Flags are "--name value" or "--name=value". Returns
// true when --help or -h was asked (nothing is applied then).
template <class Target>
Result<bool> apply_flags(const std::vector<Flag<Target>>& flags, std::string_view env_prefix,
                         const std::vector<std::string>& args, GetEnvFn getenv_fn, Target& target) {
  std::vector<std::pair<const Flag<Target>*, std::string_view>> given;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") return true;
    if (!arg.starts_with("--")) return fail(unexpected_argument(arg));
    std::string_view name = arg.substr(2);
    std::string_view value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it =
        std::find_if(flags.begin(), flags.end(), [&](const auto& f) { return f.flag == name; });
    if (it == flags.end()) return fail(unknown_flag(name));
    if (!has_value) {
      if (i + 1 >= args.size()) return fail(missing_value(name, it->value_name));
      value = args[++i];
    }
    given.emplace_back(&*it, value);
  }
  for (const Flag<Target>& f : flags) {
    bool on_command_line =
        std::any_of(given.begin(), given.end(), [&](const auto& g) { return g.first == &f; });
    if (on_command_line) continue;
    std::string name = env_name(env_prefix, f.flag);
    const char* v = getenv_fn(name.c_str());
    if (v == nullptr) continue;
    if (auto ok = f.apply(target, v); !ok) return fail(bad_setting(name, v, ok.error()));
  }
  for (const auto& [f, value] : given) {
    if (auto ok = f->apply(target, value); !ok) {
      return fail(bad_setting("--" + std::string(f->flag), value, ok.error()));
    }
  }
  return false;
}

// The flags part of a usage text: one line per flag, then --help.
template <class Target>
std::string usage_lines(const std::vector<Flag<Target>>& flags) {
  std::string out;
  for (const Flag<Target>& f : flags) out += usage_line(f.flag, f.value_name, f.help);
  out += usage_line("help", "", "this text");
  return out;
}

}  // namespace lmesh::config
