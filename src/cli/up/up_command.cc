// `lmesh up [MESHFILE]`: a whole mesh on this machine (mesh_runner.h), in the foreground
// until Ctrl-C or `lmesh down`.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "cli/up/binaries.h"
#include "cli/up/mesh_runner.h"
#include "cli/up/up_state.h"
#include "common/config/duration.h"
#include "common/log/log.h"

namespace lmesh::cli {
namespace {

constexpr char kUpUsage[] =
    "usage: lmesh up [MESHFILE] [flags]\n\n"
    "Runs a whole mesh on this machine: lmesh-identity, lmesh-destination and lmesh-tap, then\n"
    "every workload of MESHFILE (default: the built-in \"books\" demo) with a proxy beside each\n"
    "replica, until Ctrl-C or `lmesh down`. Edits of MESHFILE apply while it runs.\n\n"
    "As root each replica gets its own network namespace with Linkerd's iptables interception\n"
    "(netns mode); otherwise each gets a 127.18.x.y address and is told where its proxy is\n"
    "(loopback mode).\n\n"
    "flags:\n"
    "  --mode netns|loopback   default: netns as root, loopback otherwise\n"
    "  --state-dir DIR         default: $LMESH_STATE_DIR, /var/lib/lmesh/up as root,\n"
    "                          ~/.local/state/lmesh/up otherwise\n"
    "  --demo-dir DIR          where {demo} in the mesh file points (default: the built-in demo)\n"
    "  --ready-timeout DUR     print the summary after this long even if pods are not ready "
    "(120s)\n"
    "  --log-level LEVEL       lmesh up's own log (stderr): info by default\n";

#ifndef LMESH_DEMO_DIR
#define LMESH_DEMO_DIR "/usr/share/lmesh/demo"
#endif

}  // namespace

int run_up(Args args) {
  up::UpOptions options;
  options.version = LMESH_VERSION;
  options.demo_dir = LMESH_DEMO_DIR;
  options.mode = ::geteuid() == 0 ? up::NetworkMode::kNetns : up::NetworkMode::kLoopback;
  std::string log_level = "info";
  std::string mesh_file;
  auto usage = [](const std::string& why) {
    std::fprintf(stderr, "lmesh up: %s\n\n%s", why.c_str(), kUpUsage);
    return kExitUsage;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string_view flag) -> const std::string* {
      if (a != flag) return nullptr;
      return i + 1 < args.size() ? &args[++i] : nullptr;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUpUsage, stdout);
      return 0;
    } else if (const std::string* v = value("--mode")) {
      if (*v == "netns") {
        options.mode = up::NetworkMode::kNetns;
      } else if (*v == "loopback") {
        options.mode = up::NetworkMode::kLoopback;
      } else {
        return usage("--mode must be netns or loopback, not '" + *v + "'");
      }
    } else if (const std::string* v = value("--state-dir")) {
      options.state_dir = *v;
    } else if (const std::string* v = value("--demo-dir")) {
      options.demo_dir = *v;
    } else if (const std::string* v = value("--ready-timeout")) {
      auto d = config::parse_duration(*v);
      if (!d) return usage("invalid --ready-timeout '" + *v + "': " + d.error().describe());
      options.ready_timeout = std::chrono::duration_cast<std::chrono::seconds>(*d);
    } else if (const std::string* v = value("--log-level")) {
      log_level = *v;
    } else if (a.starts_with("-")) {
      return usage("unknown or incomplete flag '" + a + "'");
    } else if (mesh_file.empty()) {
      mesh_file = a;
    } else {
      return usage("one mesh file only ('" + mesh_file + "', then '" + a + "')");
    }
  }
  if (auto ok = log::init("lmesh", log::Format::kText, log_level); !ok) {
    return usage(ok.error().describe());
  }
  if (options.mode == up::NetworkMode::kNetns && ::geteuid() != 0) {
    std::fputs(
        "lmesh up: netns mode needs root (network namespaces and iptables); run it as "
        "root, or use --mode loopback\n",
        stderr);
    return kExitFailure;
  }
  if (options.state_dir.empty()) {
    auto dir = up::default_state_dir();
    if (!dir) return usage(dir.error().describe());
    options.state_dir = std::move(*dir);
  }
  std::error_code ec;
  options.mesh_file =
      std::filesystem::absolute(mesh_file.empty() ? options.demo_dir + "/mesh.yaml" : mesh_file, ec)
          .string();
  options.demo_dir = std::filesystem::absolute(options.demo_dir, ec).string();
  options.state_dir = std::filesystem::absolute(options.state_dir, ec).string();
  auto binaries = up::find_binaries();
  if (!binaries) {
    std::fprintf(stderr, "lmesh up: %s\n", binaries.error().describe().c_str());
    return kExitFailure;
  }
  options.binaries = *binaries;
  up::MeshRunner runner(std::move(options));
  return runner.run();
}

}  // namespace lmesh::cli
