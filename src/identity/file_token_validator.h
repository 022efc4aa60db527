// Tokens from the bootstrap token file (`--token-file`, format in token_file.h), for meshes
// outside Kubernetes. The file is polled (its inode, size and mtime) and reloaded when it
// changes, so tokens can be added or revoked without a restart. A reload that fails to parse
// is logged and the last good table keeps serving: a typo must not lock every proxy out.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/event/timer.h"
#include "common/event/worker.h"
#include "common/result.h"
#include "identity/files.h"
#include "identity/token_file.h"
#include "identity/token_validator.h"

namespace lmesh::identity {

class FileTokenValidator final : public TokenValidator {
 public:
  // Runs after every reload attempt: ok, or why the file was not taken.
  using ReloadFn = std::function<void(const Result<void>&)>;

  // Reads the file now; an unreadable or bad file is an error, so the service does not start
  // with a table nobody meant.
  static Result<std::unique_ptr<FileTokenValidator>> open(
      event::Worker& worker, std::string path,
      std::chrono::milliseconds poll_interval = std::chrono::seconds(1), ReloadFn on_reload = {});

  void validate(const std::string& token, Done done) override;

  const std::string& path() const { return path_; }
  size_t size() const { return table_->size(); }

 private:
  FileTokenValidator(event::Worker& worker, std::string path, std::chrono::milliseconds interval,
                     ReloadFn on_reload);
  Result<void> load();
  void poll();

  std::string path_;
  std::chrono::milliseconds interval_;
  ReloadFn on_reload_;
  std::shared_ptr<const TokenTable> table_;
  std::optional<FileStamp> stamp_;  // of the version last tried, good or bad
  event::Timer timer_;
};

}  // namespace lmesh::identity
