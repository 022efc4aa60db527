// The namespace helpers of host_network.h: names, listing, exec prefixes, sockets inside.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "cli/host/existing.h"
#include "cli/host/host_network.h"

namespace lmesh::host {
namespace {

bool has_digits_after(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix) || name.size() == prefix.size()) return false;
  name.remove_prefix(prefix.size());
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

Error errno_error(std::string what, int err) {
  return Error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
               what + ": " + std::strerror(err));
}

}  // namespace

bool valid_link_name(std::string_view name) {
  // IFNAMSIZ is 16 including the terminating NUL.
  return !name.empty() && name.size() < IFNAMSIZ && name != "." && name != ".." &&
         std::none_of(name.begin(), name.end(), [](char c) {
           return c == '/' || c == ':' || c == '\0' || std::isspace(static_cast<unsigned char>(c));
         });
}

bool valid_netns_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
         });
}

std::vector<std::string> leftover_networks() {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kNetnsDir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(kNetnsPrefix)) found.push_back(std::move(name));
  }
  if (struct if_nameindex* links = if_nameindex(); links != nullptr) {
    for (struct if_nameindex* l = links; l->if_index != 0; ++l) {
      std::string_view name = l->if_name;
      if (has_digits_after(name, kVethPrefix) || has_digits_after(name, kBridgePrefix)) {
        found.emplace_back(name);
      }
    }
    if_freenameindex(links);
  }
  std::sort(found.begin(), found.end());
  return found;
}

Result<int> socket_in_netns(const std::string& netns) {
  if (!valid_netns_name(netns)) {
    return fail(ErrorCode::kInvalidArgument, "bad network namespace name \"" + netns + "\"");
  }
  int target = ::open(netns_path(netns).c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) return fail(errno_error("cannot open network namespace " + netns, errno));
  // The namespace is per thread: remember this thread's own to come back to it.
  int original = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (original < 0) {
    int err = errno;
    ::close(target);
    return fail(errno_error("cannot open this thread's network namespace", err));
  }
  if (::setns(target, CLONE_NEWNET) != 0) {
    int err = errno;
    ::close(target);
    ::close(original);
    return fail(errno_error("cannot enter network namespace " + netns, err));
  }
  int sock = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int socket_err = errno;
  if (::setns(original, CLONE_NEWNET) != 0) {
    // Everything this thread did next would silently happen inside the pod: stop instead.
    spdlog::critical("cannot return from network namespace {}: {}", netns, std::strerror(errno));
    std::abort();
  }
  ::close(target);
  ::close(original);
  if (sock < 0) return fail(errno_error("socket() in network namespace " + netns, socket_err));
  return sock;
}

std::vector<std::string> netns_exec_prefix(const std::string& netns, std::optional<uid_t> run_as) {
  std::vector<std::string> argv = {"ip", "netns", "exec", netns};
  if (run_as) {
    std::string id = std::to_string(*run_as);
    argv.insert(argv.end(), {"setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"});
  }
  return argv;
}

}  // namespace lmesh::host
