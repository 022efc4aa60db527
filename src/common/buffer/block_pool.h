// Small blocks (streams, header storage, nghttp2's frames and items) from per-worker free
// lists, one per 16-byte size class, with a cap on what the lists may hold and a trim that
// gives back what they held unused.
//
// Why not plain malloc: an HTTP/2 hop with thousands of streams in flight allocates and frees
// some twenty small blocks per request. glibc's per-thread cache keeps seven blocks per size,
// so at that depth nearly every call takes its slow path (bin unlinking, consolidation): 30 %
// of the proxy's CPU. Why not std::pmr::unsynchronized_pool_resource: it keeps every block it
// ever carved until release(), so one burst would fix a sidecar's memory at its peak.
//
// What the lists keep is bounded twice. trim(), which the Worker runs every few seconds, gives
// back to malloc the blocks that sat unused in the lists since the previous trim (each list's
// low-water mark): after a burst a worker returns to what it uses within two trims. And a
// freed block goes straight back to malloc once the lists hold `max_cached_bytes`, which bounds
// the lists between trims. The cap must cover a burst's swing, or the pool misses at the very
// load it is for: with 10,000 HTTP/2 streams in flight a worker holds ~50 MiB of blocks, and
// streams finish in waves of thousands, so a 16 MiB cap sent two blocks per request through
// malloc (callgrind: 2.6 % of the proxy's instructions and 9 % of its L1 misses). 64 MiB covers
// that load; trim() hands it back once the load is gone.
//
// A std::pmr::memory_resource, so containers take it as their allocator. Per worker and never
// shared between threads, like ChunkPool: no locks, and it must outlive every block it handed
// out (the worker's connections go before its pools).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <new>

namespace lmesh::buffer {

class BlockPool final : public std::pmr::memory_resource {
 public:
  static constexpr size_t kGranule = 16;  // alignof(std::max_align_t): every block is aligned so
  static constexpr size_t kMaxPooledBlock = 2048;
  static constexpr size_t kDefaultMaxCachedBytes = 64 * 1024 * 1024;

  explicit BlockPool(size_t max_cached_bytes = kDefaultMaxCachedBytes);
  ~BlockPool() override;
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  // Bytes handed out and not yet returned (sizes as asked for, pooled or not).
  size_t in_use_bytes() const { return in_use_bytes_; }
  // Bytes the free lists hold, ready for reuse.
  size_t cached_bytes() const { return cached_bytes_; }

  // Gives back to malloc the cached blocks no allocation needed since the previous trim() (or
  // since construction): per size class, the lowest its list got. Returns the bytes given back.
  size_t trim();

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  // One size class's cached blocks, most recently freed first.
  struct FreeList {
    FreeBlock* head = nullptr;
    uint32_t count = 0;
    uint32_t low_water = 0;  // the fewest blocks it held since the last trim()
  };
  static constexpr size_t kClasses = kMaxPooledBlock / kGranule;

  void* do_allocate(size_t bytes, size_t alignment) override;
  void do_deallocate(void* p, size_t bytes, size_t alignment) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  size_t max_cached_bytes_;
  size_t cached_bytes_ = 0;
  size_t in_use_bytes_ = 0;
  std::array<FreeList, kClasses> free_{};  // free_[i]: blocks of (i + 1) * kGranule bytes
};

// A base for classes whose objects are made and freed at request rate (an HTTP/2 stream, a
// proxied exchange): `new (pool) T(...)` takes the object's memory from a BlockPool, and a plain
// `delete` (through std::unique_ptr, or through a base with a virtual destructor) gives it back.
// A header in front of the object says which pool and how big, so whoever frees it need not
// know either. `new T(...)` does not compile: objects of such a class always come from a pool.
class PoolAllocated {
 public:
  static void* operator new(size_t size, BlockPool& pool) {
    void* block = pool.allocate(sizeof(Header) + size, alignof(Header));
    auto* header = ::new (block) Header{&pool, sizeof(Header) + size};
    return header + 1;
  }
  static void operator delete(void* p) {
    Header* header = static_cast<Header*>(p) - 1;
    header->pool->deallocate(header, header->bytes, alignof(Header));
  }
  // Frees the memory when the constructor throws.
  static void operator delete(void* p, BlockPool&) { operator delete(p); }
  static void* operator new(size_t size) = delete;
  static void* operator new[](size_t size) = delete;

 private:
  struct alignas(BlockPool::kGranule) Header {  // keeps the object as aligned as malloc would
    BlockPool* pool;
    size_t bytes;
  };
};

}  // namespace lmesh::buffer
