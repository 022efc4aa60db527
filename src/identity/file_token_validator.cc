#include "identity/file_token_validator.h"

#include <spdlog/spdlog.h>

#include "common/fs/read_file.h"
#include "identity/rfc3339.h"

namespace lmesh::identity {

Result<std::unique_ptr<FileTokenValidator>> FileTokenValidator::open(
    event::Worker& worker, std::string path, std::chrono::milliseconds poll_interval,
    ReloadFn on_reload) {
  std::unique_ptr<FileTokenValidator> v(
      new FileTokenValidator(worker, std::move(path), poll_interval, std::move(on_reload)));
  if (auto ok = v->load(); !ok) return fail(ok.error());
  v->timer_.arm(v->interval_);
  return v;
}

FileTokenValidator::FileTokenValidator(event::Worker& worker, std::string path,
                                       std::chrono::milliseconds interval, ReloadFn on_reload)
    : path_(std::move(path)),
      interval_(interval),
      on_reload_(std::move(on_reload)),
      table_(std::make_shared<const TokenTable>()),
      timer_(worker.loop(), [this] { poll(); }) {}

Result<void> FileTokenValidator::load() {
  // Stamp before reading: an edit racing with the read then shows up as a change next time.
  auto stamp = stamp_file(path_);
  if (!stamp) return fail(stamp.error());
  stamp_ = *stamp;
  auto text = fs::read_file(path_);
  if (!text) return fail(text.error());
  auto table = parse_token_file(*text, path_);
  if (!table) return fail(table.error());
  table_ = std::make_shared<const TokenTable>(std::move(*table));
  return {};
}

void FileTokenValidator::poll() {
  timer_.arm(interval_);
  auto stamp = stamp_file(path_);
  // A file that is briefly missing (replaced by rename) or unchanged: nothing to do.
  if (!stamp || stamp_ == *stamp) return;
  Result<void> loaded = load();
  if (loaded) {
    spdlog::info("token file reloaded path={} tokens={}", path_, table_->size());
  } else {
    spdlog::error("token file not reloaded, still serving the last good one: {}",
                  loaded.error().describe());
  }
  if (on_reload_) on_reload_(loaded);
}

void FileTokenValidator::validate(const std::string& token, Done done) {
  const TokenEntry* entry = table_->find(token);
  if (entry == nullptr) {
    done(std::unexpected(TokenRejection{TokenFailure::kUnauthenticated, "unknown token"}));
    return;
  }
  if (entry->expires && *entry->expires <= std::chrono::system_clock::now()) {
    done(std::unexpected(TokenRejection{TokenFailure::kUnauthenticated,
                                        "token expired at " + format_rfc3339(*entry->expires)}));
    return;
  }
  done(entry->identity);
}

}  // namespace lmesh::identity
