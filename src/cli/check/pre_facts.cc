// The I/O of `lmesh check --pre` (pre_checks.h): what the machine offers. Every probe is
// undone: the throw-away network namespace is deleted, the port sockets and the state dir's
// test file are closed and removed.
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "cli/check/gather.h"
#include "cli/check/pre_checks.h"
#include "cli/up/up_state.h"
#include "common/fs/read_file.h"

extern char** environ;

namespace lmesh::cli::check {
namespace {

// PATH, then the sbin directories a non-root user's PATH often lacks.
std::string find_tool(std::string_view name) {
  std::string dirs;
  if (const char* path = std::getenv("PATH"); path != nullptr) dirs = path;
  dirs += ":/usr/sbin:/sbin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    start = end + 1;
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + std::string(name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string command_text(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

// Runs `argv` (argv[0] a path) with its output captured, and waits for it. These are quick
// commands: iptables waits at most 2 s for its lock (-w 2).
Attempt run_quietly(const std::vector<std::string>& argv) {
  Attempt attempt{true, {}};
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    attempt.error = "pipe: " + std::string(std::strerror(errno));
    return attempt;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    attempt.error = "`" + command_text(argv) + "`: " + std::strerror(rc);
    return attempt;
  }
  std::string output;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0 && output.size() < 64 * 1024) output.append(buf, static_cast<size_t>(n));
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return attempt;
  std::string how = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                      : "signal " + std::to_string(WTERMSIG(status));
  std::string first = output.substr(0, output.find('\n'));
  attempt.error = "`" + command_text(argv) + "` failed (" + how + ")";
  if (!first.empty()) attempt.error += ": " + first;
  return attempt;
}

ToolFact tool_fact(const char* name, bool root, std::vector<std::string> trial_args) {
  ToolFact fact{name, find_tool(name), {}};
  if (root && !fact.path.empty()) {
    trial_args.insert(trial_args.begin(), fact.path);
    fact.run = run_quietly(trial_args);
  }
  return fact;
}

Attempt try_netns() {
  std::string ip = find_tool("ip");
  if (ip.empty()) return {true, "ip (iproute2) is not found in PATH, /usr/sbin or /sbin"};
  std::string name = "lmesh-check-" + std::to_string(getpid());
  Attempt added = run_quietly({ip, "netns", "add", name});
  if (!added.error.empty()) return added;
  return run_quietly({ip, "netns", "delete", name});
}

// Bound the way the controllers will bind it: SO_REUSEADDR (as libuv sets), no SO_REUSEPORT,
// so that any listener on the port, on any address, makes this fail.
std::string port_error(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "socket: " + std::string(std::strerror(errno));
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  std::string error;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = "cannot bind 0.0.0.0:" + std::to_string(port) + ": " + std::strerror(errno);
  }
  close(fd);
  return error;
}

// A state dir that exists must take a new file; one that does not must be creatable, which
// needs its nearest existing ancestor to be writable (lmesh up makes the rest).
std::string state_dir_error(const std::string& dir) {
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return dir + " exists and is not a directory";
    std::string probe = dir + "/.lmesh-check-XXXXXX";
    int fd = mkstemp(probe.data());
    if (fd < 0) return "cannot create a file in " + dir + ": " + std::strerror(errno);
    close(fd);
    unlink(probe.c_str());
    return "";
  }
  std::string ancestor = dir;
  for (;;) {
    size_t slash = ancestor.find_last_of('/');
    if (slash == std::string::npos) {
      ancestor = ".";
      break;
    }
    ancestor = slash == 0 ? "/" : ancestor.substr(0, slash);
    if (ancestor == "/" || stat(ancestor.c_str(), &st) == 0) break;
  }
  if (access(ancestor.c_str(), W_OK | X_OK) != 0) {
    return "cannot create " + dir + ": " + ancestor + " is not writable (" + std::strerror(errno) +
           ")";
  }
  return "";
}

}  // namespace

PreFacts gather_pre_facts(const std::string& state_dir) {
  PreFacts facts;
  facts.uid = geteuid();
  facts.root = facts.uid == 0;
  facts.netns_supported = access("/proc/self/ns/net", F_OK) == 0;
  if (facts.root && facts.netns_supported) facts.netns_create = try_netns();
  // Listing the nat table needs CAP_NET_ADMIN, as the interception rules do.
  facts.iptables = tool_fact("iptables", facts.root, {"-w", "2", "-t", "nat", "-S"});
  // Exactly how lmesh up drops a proxy's privileges.
  facts.setpriv = tool_fact("setpriv", facts.root,
                            {"--reuid=2102", "--regid=2102", "--clear-groups", "--", "true"});
  for (const ControlPlanePort& p : kControlPlanePorts) {
    facts.ports.push_back({p.port, p.controller, port_error(p.port)});
  }
  facts.state_dir = state_dir;
  facts.state_dir_error = state_dir_error(state_dir);
  if (auto text = fs::read_file(state_dir + "/state.json", 16 << 20); text) {
    if (auto up = up::parse_up_process(*text); up) facts.existing_up = observe_process(*up);
  }
  return facts;
}

}  // namespace lmesh::cli::check
