#include "destination/file_watcher.h"

#include <spdlog/spdlog.h>

#include <string_view>

namespace lmesh::destination {

FileWatcher::FileWatcher(event::Worker& worker, std::string path,
                         std::chrono::milliseconds debounce, std::function<void()> on_change,
                         std::chrono::milliseconds max_delay)
    : worker_(worker),
      debounce_(debounce),
      max_delay_(max_delay),
      on_change_(std::move(on_change)),
      timer_(worker.loop(), [this] { fire(); }) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    directory_ = ".";
    file_name_ = std::move(path);
  } else {
    directory_ = slash == 0 ? "/" : path.substr(0, slash);
    file_name_ = path.substr(slash + 1);
  }
}

Result<void> FileWatcher::start() {
  if (int rc = event_.init(uv_fs_event_init, worker_.loop()); rc != 0) {
    return fail(Error::from_uv(rc, "watching " + directory_));
  }
  event_.get()->data = this;
  if (int rc = uv_fs_event_start(event_.get(), &FileWatcher::on_event, directory_.c_str(), 0);
      rc != 0) {
    return fail(Error::from_uv(rc, "watching the directory " + directory_));
  }
  return {};
}

void FileWatcher::on_event(uv_fs_event_t* handle, const char* filename, int, int status) {
  auto* self = static_cast<FileWatcher*>(handle->data);
  if (self == nullptr) return;
  if (status < 0) {
    spdlog::error("watching {} failed: {}", self->directory_, uv_strerror(status));
    return;
  }
  // No name: the kernel's queue overflowed, or the directory itself changed; read to be sure.
  std::string_view name = filename == nullptr ? std::string_view() : std::string_view(filename);
  if (name.empty() || name == self->file_name_ || name == "..data") self->changed();
}

void FileWatcher::changed() {
  auto now = std::chrono::steady_clock::now();
  if (!pending_) {
    pending_ = true;
    burst_began_ = now;
  }
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - burst_began_);
  timer_.arm(std::max(std::chrono::milliseconds(0), std::min(debounce_, max_delay_ - waited)));
}

void FileWatcher::fire() {
  pending_ = false;
  on_change_();
}

}  // namespace lmesh::destination
