#include "cli/host/run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

extern char** environ;

namespace lmesh::host {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset();
    fd_ = std::exchange(other.fd_, -1);
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

Error errno_error(std::string what, int err) {
  return Error(ErrorCode::kIo, what + ": " + std::strerror(err));
}

// Both ends close on exec, so a command started concurrently from another thread does not
// inherit them (and keep our reads from ever seeing EOF); the child gets its copies by dup2.
Result<Pipe> make_pipe(bool parent_writes) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(errno_error("pipe2", errno));
  Pipe p{Fd(fds[0]), Fd(fds[1])};
  int parent_end = parent_writes ? p.write.get() : p.read.get();
  ::fcntl(parent_end, F_SETFL, ::fcntl(parent_end, F_GETFL) | O_NONBLOCK);
  return p;
}

// Writing to a program that has exited raises SIGPIPE, which would kill us if the process has
// not ignored it. Blocking it on this thread turns that into EPIPE; a SIGPIPE raised meanwhile
// is consumed before the mask is restored, unless one was already pending before we started.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t previous_;
  bool was_pending_ = false;
};

// The child starts with no blocked signals and default dispositions for the signals a parent
// commonly ignores: an ignored SIGCHLD or SIGPIPE survives exec and breaks ordinary programs.
Result<pid_t> spawn(const std::vector<std::string>& argv, int stdin_fd, int stdout_fd,
                    int stderr_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    Error e = errno_error("cannot run `" + command_line(argv) + "`", rc);
    return fail(rc == ENOENT ? Error(ErrorCode::kNotFound, e.message()) : e);
  }
  return pid;
}

// Appends what is readable now; closes `fd` at end of file or on an error.
void drain(Fd& fd, std::string& into) {
  char buf[16 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      size_t room = kMaxCapture - std::min(kMaxCapture, into.size());
      into.append(buf, std::min(room, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    fd.reset();
    return;
  }
}

// Writes what the pipe takes now; closes `fd` when all is written or the reader has gone.
void feed(Fd& fd, std::string_view text, size_t& written) {
  while (written < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
    if (n > 0) {
      written += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    break;  // EPIPE: the program exited without reading everything; its exit code will tell
  }
  fd.reset();
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

// waitpid() found no such child: someone else reaped it (SIGCHLD set to SIG_IGN, or a
// waitpid(-1) elsewhere in the process). Not a valid wait status.
constexpr int kStatusLost = -1;

// Waits for the exit status until `deadline`; nullopt when the program is still running.
// Polling with a short sleep is fine here: the pipes have closed, so the program is exiting.
std::optional<int> wait_until(pid_t pid, Clock::time_point deadline) {
  auto pause = std::chrono::microseconds(100);
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return kStatusLost;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(10'000));
  }
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string first_line(std::string_view text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  text.remove_prefix(start);
  return std::string(text.substr(0, text.find('\n')));
}

}  // namespace

std::string command_line(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& arg : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) ||
             std::string_view("_-./:=,@%+").find(c) != std::string_view::npos;
    });
    if (plain) {
      out += arg;
      continue;
    }
    out += '\'';
    for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  const CommandOptions& options) {
  if (argv.empty()) return fail(ErrorCode::kInvalidArgument, "run_command: empty argv");
  std::string cmd = command_line(argv);
  spdlog::debug("running `{}`", cmd);

  std::optional<Pipe> in;
  if (options.stdin_text) {
    auto p = make_pipe(/*parent_writes=*/true);
    if (!p) return fail(p.error());
    in = std::move(*p);
  }
  auto out = make_pipe(/*parent_writes=*/false);
  if (!out) return fail(out.error());
  auto err = make_pipe(/*parent_writes=*/false);
  if (!err) return fail(err.error());

  SigpipeBlock sigpipe_blocked;
  auto pid = spawn(argv, in ? in->read.get() : -1, out->write.get(), err->write.get());
  if (!pid) return fail(pid.error());
  // Our copies of the child's ends go, so that its exit shows as end of file.
  if (in) in->read.reset();
  out->write.reset();
  err->write.reset();

  Clock::time_point deadline = Clock::now() + options.timeout;
  CommandOutput result;
  size_t written = 0;
  bool timed_out = false;
  while (out->read.open() || err->read.open() || (in && in->write.open())) {
    pollfd fds[3];
    nfds_t n = 0;
    if (in && in->write.open()) fds[n++] = {in->write.get(), POLLOUT, 0};
    if (out->read.open()) fds[n++] = {out->read.get(), POLLIN, 0};
    if (err->read.open()) fds[n++] = {err->read.get(), POLLIN, 0};
    int wait = remaining_ms(deadline);
    if (wait == 0) {
      timed_out = true;
      break;
    }
    int ready = ::poll(fds, n, wait);
    if (ready < 0 && errno != EINTR) {
      int saved = errno;
      kill_and_reap(*pid);
      return fail(errno_error("poll while running `" + cmd + "`", saved));
    }
    for (nfds_t i = 0; ready > 0 && i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (in && fds[i].fd == in->write.get()) {
        feed(in->write, *options.stdin_text, written);
      } else if (fds[i].fd == out->read.get()) {
        drain(out->read, result.out);
      } else {
        drain(err->read, result.err);
      }
    }
  }

  std::optional<int> status;
  if (!timed_out) status = wait_until(*pid, deadline);
  if (!status) {
    kill_and_reap(*pid);
    return fail(ErrorCode::kTimeout, "`" + cmd + "` did not finish within " +
                                         std::to_string(options.timeout.count()) + " ms");
  }
  if (*status == kStatusLost) {
    return fail(ErrorCode::kInternal, "`" + cmd + "`: its exit status was reaped elsewhere");
  }
  if (WIFSIGNALED(*status)) {
    return fail(ErrorCode::kIo,
                "`" + cmd + "` was killed by signal " + std::to_string(WTERMSIG(*status)));
  }
  result.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : 0;
  if (result.exit_code != 0) {
    std::string msg = "`" + cmd + "` exited with " + std::to_string(result.exit_code);
    std::string why = first_line(result.err);
    if (!why.empty()) msg += ": " + why;
    return fail(ErrorCode::kIo, std::move(msg));
  }
  return result;
}

}  // namespace lmesh::host
