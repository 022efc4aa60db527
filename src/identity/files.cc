#include "identity/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lmesh::identity {
namespace {

Error sys_error(std::string_view what, const std::string& path) {
  return Error(ErrorCode::kIo, std::string(what) + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<void> write_file_atomically(const std::string& path, const std::string& bytes,
                                   unsigned mode) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover from a crash; O_EXCL below must create it afresh
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return fail(sys_error("cannot create", tmp));
  // The umask may have narrowed `mode`; the file gets exactly what was asked.
  bool ok = ::fchmod(fd, mode) == 0;
  size_t done = 0;
  while (ok && done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  Error e = sys_error("cannot write", tmp);
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) e = sys_error("cannot rename onto", path);
    ::unlink(tmp.c_str());
    return fail(std::move(e));
  }
  return {};
}

Result<FileStamp> stamp_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(sys_error("cannot stat", path));
  return FileStamp{static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

}  // namespace lmesh::identity
