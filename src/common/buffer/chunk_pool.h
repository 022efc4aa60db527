// Fixed-size, reference-counted memory chunks from a per-worker free list.
//
// Every byte the proxy reads lands in a Chunk; Slices hand it on to parsers and write queues
// without copying. A chunk goes back to its pool when the last Slice lets go, so a connection
// that is idle holds no buffer memory at all (STYLE.md §7). Pools are per worker and never
// shared between threads, so the reference count is a plain integer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lmesh::buffer {

class ChunkPool;

struct Chunk {
  ChunkPool* pool;
  uint32_t refs;
  uint32_t fill;  // bytes written so far; data()[0, fill) is immutable once shared
  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  // The chunk whose data() starts at `p`: used to recover a chunk from a uv_buf_t.
  static Chunk* from_data(char* p) { return reinterpret_cast<Chunk*>(p) - 1; }
};

class ChunkPool {
 public:
  static constexpr size_t kDefaultChunkSize = 16 * 1024;
  static constexpr size_t kDefaultMaxCached = 64;

  explicit ChunkPool(size_t chunk_size = kDefaultChunkSize, size_t max_cached = kDefaultMaxCached);
  ~ChunkPool();
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;

  // A chunk with refs == 1 and fill == 0.
  Chunk* acquire();

  size_t chunk_size() const { return chunk_size_; }
  // Chunks handed out and not yet returned: the pool's share of live memory.
  size_t in_use() const { return in_use_; }
  size_t cached() const { return free_.size(); }

  static void ref(Chunk* c) { ++c->refs; }
  static void unref(Chunk* c) {
    if (--c->refs == 0) c->pool->release(c);
  }

 private:
  void release(Chunk* c);

  size_t chunk_size_;
  size_t max_cached_;
  size_t in_use_ = 0;
  std::vector<Chunk*> free_;
};

}  // namespace lmesh::buffer
