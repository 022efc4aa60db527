// Private writes and change stamps for the identity service's small files (PEM, tokens); reads
// are fs::read_file (common/fs/read_file.h). Blocking: called at start-up, from `lmesh
// identity init`, and for files of a few KiB when they are seen to change.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace lmesh::identity {

// Writes `bytes` to `path` with `mode` through a temporary file renamed into place, so a
// reader never sees half a file and a key is never readable by others, even for a moment.
Result<void> write_file_atomically(const std::string& path, const std::string& bytes,
                                   unsigned mode);

// What identifies a version of a file cheaply: enough to notice an edit without reading it.
struct FileStamp {
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
Result<FileStamp> stamp_file(const std::string& path);

}  // namespace lmesh::identity
