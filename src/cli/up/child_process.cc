#include "cli/up/child_process.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace lmesh::up {

ChildProcess::ChildProcess(uv_loop_t* loop, ProcessSpec spec, ExitFn on_exit)
    : loop_(loop), spec_(std::move(spec)), on_exit_(std::move(on_exit)) {}

Result<void> ChildProcess::start() {
  if (running()) return {};
  int log_fd = ::open(spec_.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return fail(ErrorCode::kIo,
                "cannot open the log file " + spec_.log_path + ": " + std::strerror(errno));
  }
  std::vector<char*> argv;
  for (std::string& a : spec_.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> env;
  for (std::string& e : spec_.env) env.push_back(e.data());
  env.push_back(nullptr);

  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = log_fd;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = log_fd;

  uv_process_options_t options{};
  options.exit_cb = &ChildProcess::on_exit_cb;
  options.file = argv[0];
  options.args = argv.data();
  options.env = env.data();
  options.stdio = stdio;
  options.stdio_count = 3;
  options.flags = UV_PROCESS_DETACHED;

  // uv_spawn initializes the handle even when it fails, so it is closed either way: the
  // init function always reports success to UvHandle and the real status is kept here.
  auto handle = std::make_unique<event::UvHandle<uv_process_t>>();
  int status = 0;
  handle->init(
      [&status, &options](uv_loop_t* loop, uv_process_t* process) {
        status = uv_spawn(loop, process, &options);
        return 0;
      },
      loop_);
  ::close(log_fd);
  if (status != 0) return fail(Error::from_uv(status, "starting " + spec_.name));
  handle->get()->data = this;
  ref_ = process_ref(handle->get()->pid);
  if (ref_.pid == 0) ref_.pid = handle->get()->pid;  // exited already: reported by on_exit
  handle_ = std::move(handle);
  return {};
}

void ChildProcess::signal(int signum) {
  if (handle_ != nullptr) uv_process_kill(handle_->get(), signum);
}

void ChildProcess::on_exit_cb(uv_process_t* process, int64_t exit_status, int term_signal) {
  auto* self = static_cast<ChildProcess*>(process->data);
  if (self == nullptr) return;
  self->handle_.reset();  // closes it; the memory goes in the close callback
  self->ref_ = {};
  if (self->on_exit_) self->on_exit_(exit_status, term_signal);
}

std::string describe_exit(int64_t exit_status, int term_signal) {
  if (term_signal != 0) {
    const char* name = ::sigabbrev_np(term_signal);
    return std::string("killed by SIG") + (name != nullptr ? name : std::to_string(term_signal));
  }
  return "exited with status " + std::to_string(exit_status);
}

}  // namespace lmesh::up
