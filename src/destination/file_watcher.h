// Notices that a file may have changed: an inotify watch (uv_fs_event) on the file's
// DIRECTORY, not the file, because editors and `mv`/os.replace put a new file (a new inode) in
// place, and a watch on the old inode would go silent after the first such edit. Events are
// filtered by file name and debounced: an editor's write, chmod and rename, or a writer that
// truncates and then writes, become one notification once the burst has been quiet for
// `debounce` (and at most `max_delay` after the burst began, so a file written without pause
// is still read).
//
// A Kubernetes ConfigMap mount swaps a `..data` symlink rather than the file: a change of
// `..data` counts as a change of the file too.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <string>

#include "common/event/timer.h"
#include "common/event/uv_handle.h"
#include "common/event/worker.h"
#include "common/result.h"

namespace lmesh::destination {

class FileWatcher {
 public:
  FileWatcher(event::Worker& worker, std::string path, std::chrono::milliseconds debounce,
              std::function<void()> on_change,
              std::chrono::milliseconds max_delay = std::chrono::seconds(1));
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Starts watching the directory; an error names it (missing, not a directory, no inotify).
  Result<void> start();
  const std::string& directory() const { return directory_; }
  const std::string& file_name() const { return file_name_; }

 private:
  static void on_event(uv_fs_event_t* handle, const char* filename, int events, int status);
  void changed();
  void fire();

  event::Worker& worker_;
  std::string directory_;
  std::string file_name_;
  std::chrono::milliseconds debounce_;
  std::chrono::milliseconds max_delay_;
  std::function<void()> on_change_;
  std::chrono::steady_clock::time_point burst_began_{};
  bool pending_ = false;
  event::Timer timer_;
  event::UvHandle<uv_fs_event_t> event_;
};

}  // namespace lmesh::destination
