#include "cli/up/binaries.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace lmesh::up {
namespace {

namespace fs = std::filesystem;

bool executable(const fs::path& path) {
  return ::access(path.c_str(), X_OK) == 0 && fs::is_regular_file(path);
}

Result<std::string> find(const char* env, const std::string& name, const std::string& build_dir,
                         const fs::path& self_dir) {
  if (const char* given = std::getenv(env); given != nullptr && *given != '\0') {
    if (!executable(given)) {
      return fail(ErrorCode::kNotFound, std::string(env) + "=" + given + " is not an executable");
    }
    return fs::absolute(given).string();
  }
  for (const fs::path& candidate : {self_dir / name, self_dir.parent_path() / build_dir / name}) {
    if (executable(candidate)) return fs::weakly_canonical(candidate).string();
  }
  return fail(ErrorCode::kNotFound, name + " not found beside lmesh (" + self_dir.string() +
                                        ") nor in the build tree; set " + env);
}

}  // namespace

Result<Binaries> find_binaries() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  fs::path dir = ec ? fs::current_path() : self.parent_path();
  Binaries out;
  auto proxy = find("LMESH_PROXY", "lmesh-proxy", "proxy", dir);
  if (!proxy) return fail(proxy.error());
  out.proxy = *proxy;
  auto identity = find("LMESH_IDENTITY", "lmesh-identity", "identity", dir);
  if (!identity) return fail(identity.error());
  out.identity = *identity;
  auto destination = find("LMESH_DESTINATION", "lmesh-destination", "destination", dir);
  if (!destination) return fail(destination.error());
  out.destination = *destination;
  auto tap = find("LMESH_TAP", "lmesh-tap", "tap", dir);
  if (!tap) return fail(tap.error());
  out.tap = *tap;
  return out;
}

}  // namespace lmesh::up
