// A byte queue made of Slices: append at the back, drain from the front, hand the bytes to
// writev() as iovecs. Appending a Slice moves it in without copying; appending raw bytes copies
// them into the spare room of the last chunk (reserve/commit), taking new chunks from the pool.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstring>
#include <memory_resource>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/buffer/slice.h"

namespace lmesh::buffer {

class Buffer {
 public:
  explicit Buffer(ChunkPool& pool) : pool_(&pool) {}
  // The slice list's storage from `memory`, e.g. a worker's BlockPool for the send queues of
  // HTTP/2 streams, which come and go at request rate.
  Buffer(ChunkPool& pool, std::pmr::memory_resource* memory) : pool_(&pool), slices_(memory) {}
  // A moved-from Buffer is empty and still usable with the same pool.
  Buffer(Buffer&& o) noexcept
      : pool_(o.pool_),
        slices_(std::move(o.slices_)),
        head_(std::exchange(o.head_, 0)),
        size_(std::exchange(o.size_, 0)) {
    o.slices_.clear();
  }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      pool_ = o.pool_;
      slices_ = std::move(o.slices_);
      head_ = std::exchange(o.head_, 0);
      size_ = std::exchange(o.size_, 0);
      o.slices_.clear();
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  ChunkPool& pool() const { return *pool_; }

  void append(Slice s);
  // Copies. Heads are assembled from many short pieces, so the common case (room left in the
  // last chunk) is inline.
  void append(std::string_view bytes) {
    if (bytes.empty()) return;  // also keeps a null data() away from memcpy
    if (head_ < slices_.size()) {
      Slice& last = slices_.back();
      if (last.can_extend() && pool_->chunk_size() - last.chunk()->fill >= bytes.size()) {
        std::memcpy(last.chunk()->data() + last.chunk()->fill, bytes.data(), bytes.size());
        last.extend(bytes.size());
        size_ += bytes.size();
        return;
      }
    }
    append_slow(bytes);
  }
  // Moves every byte of `other` to the back of this buffer; `other` ends empty.
  void append(Buffer&& other);
  // Moves the first `n` bytes of this buffer to the back of `dest`.
  void move_prefix_to(Buffer& dest, size_t n);

  // Writable room at the back, at least `min` bytes (at most one chunk). Write, then commit().
  char* reserve(size_t min, size_t* available);
  void commit(size_t n);

  void drain(size_t n);
  void clear();

  // Fills `out` with up to `max` iovecs covering the front of the buffer; returns the count.
  size_t iovecs(struct iovec* out, size_t max) const;
  size_t slice_count() const { return slices_.size() - head_; }
  const Slice& slice(size_t i) const { return slices_[head_ + i]; }

  // Copies the buffer's bytes out: for tests and small control messages, never the data path.
  std::string to_string() const;

 private:
  void append_slow(std::string_view bytes);
  void compact();

  ChunkPool* pool_;
  std::pmr::vector<Slice> slices_;
  size_t head_ = 0;  // slices_[0, head_) are drained and empty
  size_t size_ = 0;
};

}  // namespace lmesh::buffer
