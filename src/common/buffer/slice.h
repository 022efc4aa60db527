// A counted reference to a byte range inside a Chunk. Moving a Slice is free; sharing one
// (share(), sub()) bumps the chunk's reference count instead of copying bytes.
#pragma once

#include <cassert>
#include <cstddef>
#include <string_view>
#include <utility>

#include "common/buffer/chunk_pool.h"

namespace lmesh::buffer {

class Slice {
 public:
  Slice() = default;
  // Adopts one reference to `chunk` (the caller's).
  Slice(Chunk* chunk, size_t offset, size_t length)
      : chunk_(chunk),
        offset_(static_cast<uint32_t>(offset)),
        length_(static_cast<uint32_t>(length)) {
    assert(offset + length <= chunk->fill);
  }
  ~Slice() { reset(); }

  Slice(Slice&& o) noexcept
      : chunk_(std::exchange(o.chunk_, nullptr)),
        offset_(o.offset_),
        length_(std::exchange(o.length_, 0)) {}
  Slice& operator=(Slice&& o) noexcept {
    if (this != &o) {
      reset();
      chunk_ = std::exchange(o.chunk_, nullptr);
      offset_ = o.offset_;
      length_ = std::exchange(o.length_, 0);
    }
    return *this;
  }
  Slice(const Slice&) = delete;
  Slice& operator=(const Slice&) = delete;

  // Another reference to the same bytes.
  Slice share() const {
    if (chunk_ != nullptr) ChunkPool::ref(chunk_);
    return chunk_ == nullptr ? Slice() : Slice(chunk_, offset_, length_);
  }
  // A reference to [offset, offset + length) of this slice.
  Slice sub(size_t offset, size_t length) const {
    assert(offset + length <= length_);
    ChunkPool::ref(chunk_);
    return Slice(chunk_, offset_ + offset, length);
  }

  const char* data() const { return chunk_ == nullptr ? nullptr : chunk_->data() + offset_; }
  size_t size() const { return length_; }
  bool empty() const { return length_ == 0; }
  std::string_view view() const {
    return length_ == 0 ? std::string_view() : std::string_view(data(), length_);
  }
  Chunk* chunk() const { return chunk_; }

  void remove_prefix(size_t n) {
    assert(n <= length_);
    offset_ += static_cast<uint32_t>(n);
    length_ -= static_cast<uint32_t>(n);
  }
  void remove_suffix(size_t n) {
    assert(n <= length_);
    length_ -= static_cast<uint32_t>(n);
  }

  // True when this slice ends where its chunk's written bytes end and nobody else holds the
  // chunk: bytes can then be appended in place.
  bool can_extend() const {
    return chunk_ != nullptr && chunk_->refs == 1 && offset_ + length_ == chunk_->fill;
  }
  void extend(size_t n) {
    assert(can_extend());
    chunk_->fill += static_cast<uint32_t>(n);
    length_ += static_cast<uint32_t>(n);
  }

  void reset() {
    if (chunk_ != nullptr) ChunkPool::unref(std::exchange(chunk_, nullptr));
    length_ = 0;
  }

 private:
  Chunk* chunk_ = nullptr;
  uint32_t offset_ = 0;
  uint32_t length_ = 0;
};

}  // namespace lmesh::buffer
