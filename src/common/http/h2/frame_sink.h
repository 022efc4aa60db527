// Where a session's frames go during one produce(): the owner's output Buffer.
//
// DATA payloads are moved in as the owner's own slices (nghttp2's NO_COPY path), so each
// 9-byte frame header would land right after a slice the Buffer cannot extend and take a fresh
// chunk of its own: a 1 MiB body would pin another 1 MiB of mostly empty chunks until written.
// Instead, small copied pieces (frame headers, control frames, short payloads) are written
// into one scratch chunk and appended as slices of it. Bytes past a chunk's fill are free to
// write even while slices share it (chunk_pool.h), so this never touches bytes already handed
// out. The scratch chunk is let go when produce() ends: an idle session holds no buffer memory.
#pragma once

#include <string_view>

#include "common/buffer/buffer.h"
#include "common/buffer/slice.h"

namespace lmesh::http::h2 {

class FrameSink {
 public:
  explicit FrameSink(buffer::Buffer& out) : out_(out) {}
  FrameSink(const FrameSink&) = delete;
  FrameSink& operator=(const FrameSink&) = delete;

  // Copies `bytes` to the end of the output.
  void copy(std::string_view bytes);
  // Copies the first `n` bytes of `from` to the end of the output and drains them from it.
  void copy_prefix(buffer::Buffer& from, size_t n);
  // Moves the first `n` bytes of `from` to the end of the output, without copying.
  void move(buffer::Buffer& from, size_t n) { from.move_prefix_to(out_, n); }

 private:
  buffer::Buffer& out_;
  buffer::Chunk* scratch_ = nullptr;  // referenced through scratch_ref_ while set
  buffer::Slice scratch_ref_;         // our reference to scratch_
};

}  // namespace lmesh::http::h2
