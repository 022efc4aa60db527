#include "common/http/h2/frame_sink.h"

#include <algorithm>
#include <cstring>

namespace lmesh::http::h2 {

void FrameSink::copy(std::string_view bytes) {
  buffer::ChunkPool& pool = out_.pool();
  while (!bytes.empty()) {
    // The output's own last chunk first: when nothing else shares it, extending it in place
    // keeps runs of control frames in one slice.
    if (out_.slice_count() > 0 && out_.slice(out_.slice_count() - 1).can_extend()) {
      size_t room = 0;
      char* p = out_.reserve(1, &room);
      size_t n = std::min(room, bytes.size());
      std::memcpy(p, bytes.data(), n);
      out_.commit(n);
      bytes.remove_prefix(n);
      continue;
    }
    if (scratch_ == nullptr || scratch_->fill == pool.chunk_size()) {
      scratch_ = pool.acquire();  // refs == 1: ours, held by scratch_ref_
      scratch_ref_ = buffer::Slice(scratch_, 0, 0);
    }
    size_t offset = scratch_->fill;
    size_t n = std::min(pool.chunk_size() - offset, bytes.size());
    std::memcpy(scratch_->data() + offset, bytes.data(), n);
    scratch_->fill += static_cast<uint32_t>(n);
    buffer::ChunkPool::ref(scratch_);
    out_.append(buffer::Slice(scratch_, offset, n));
    bytes.remove_prefix(n);
  }
}

void FrameSink::copy_prefix(buffer::Buffer& from, size_t n) {
  size_t left = n;
  for (size_t i = 0; i < from.slice_count() && left > 0; ++i) {
    std::string_view piece = from.slice(i).view();
    piece = piece.substr(0, std::min(piece.size(), left));
    copy(piece);
    left -= piece.size();
  }
  from.drain(n - left);
}

}  // namespace lmesh::http::h2
