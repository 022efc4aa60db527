// One process `lmesh up` runs (a controller, an app, a proxy), on the up loop: spawned in a
// session of its own (Ctrl-C reaches lmesh up, which stops the mesh in order, not every
// child at once), stdout and stderr appended to its log file, its exit reported once.
#pragma once

#include <uv.h>

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli/up/up_state.h"
#include "common/event/uv_handle.h"
#include "common/result.h"

namespace lmesh::up {

struct ProcessSpec {
  std::string name;  // for messages: "web-0 proxy"
  std::vector<std::string> argv;
  std::vector<std::string> env;  // KEY=VALUE, the whole environment
  std::string log_path;
};

class ChildProcess {
 public:
  // `on_exit(exit_status, term_signal)` runs on the loop once per start() that succeeded.
  using ExitFn = std::function<void(int64_t exit_status, int term_signal)>;

  ChildProcess(uv_loop_t* loop, ProcessSpec spec, ExitFn on_exit);
  // Closes the handle; a process still running is left running (the owner signals it first).
  ~ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  Result<void> start();
  void signal(int signum);  // nothing when not running
  bool running() const { return handle_ != nullptr; }
  const ProcessRef& ref() const { return ref_; }
  const ProcessSpec& spec() const { return spec_; }

 private:
  static void on_exit_cb(uv_process_t* process, int64_t exit_status, int term_signal);

  uv_loop_t* loop_;
  ProcessSpec spec_;
  ExitFn on_exit_;
  std::unique_ptr<event::UvHandle<uv_process_t>> handle_;  // a new handle per start
  ProcessRef ref_;
};

// "exited with status 1" / "killed by SIGKILL", for logs.
std::string describe_exit(int64_t exit_status, int term_signal);

}  // namespace lmesh::up
