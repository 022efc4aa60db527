// BlockPool: size classes reused LIFO, the cap on what the free lists keep, trim(), blocks that
// bypass the lists, std::pmr use, and PoolAllocated objects freed through a base class.
#include "common/buffer/block_pool.h"

#include <cstdint>
#include <memory>
#include <memory_resource>
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include "support/counting_new.h"

namespace lmesh::buffer {
namespace {

TEST_CASE("BlockPool: a freed block serves the next request of its size class") {
  BlockPool pool;
  void* a = pool.allocate(100);
  CHECK(pool.in_use_bytes() == 100);
  pool.deallocate(a, 100);
  CHECK(pool.in_use_bytes() == 0);
  CHECK(pool.cached_bytes() == 112);  // 100 rounds up to its 16-byte class
  // Any size of the same class (97..112 bytes) takes it back, most recently freed first.
  void* b = pool.allocate(112);
  CHECK(b == a);
  CHECK(pool.cached_bytes() == 0);
  void* c = pool.allocate(97);
  CHECK(c != a);  // the list was empty: a new block
  pool.deallocate(c, 97);
  pool.deallocate(b, 112);
  void* d = pool.allocate(110);
  CHECK(d == b);  // LIFO
  pool.deallocate(d, 110);
}

TEST_CASE("BlockPool: every block is aligned as malloc's are") {
  BlockPool pool;
  std::vector<std::pair<void*, size_t>> blocks;
  for (size_t size : {1, 8, 16, 17, 100, 1000, 2048, 5000}) {
    void* p = pool.allocate(size);
    CHECK(reinterpret_cast<uintptr_t>(p) % alignof(std::max_align_t) == 0);
    blocks.emplace_back(p, size);
  }
  for (auto [p, size] : blocks) pool.deallocate(p, size);
  CHECK(pool.in_use_bytes() == 0);
}

TEST_CASE("BlockPool: the free lists hold no more than the cap; the rest goes back to the heap") {
  BlockPool pool(1024);  // room for four 256-byte blocks
  std::vector<void*> blocks;
  for (int i = 0; i < 10; ++i) blocks.push_back(pool.allocate(256));
  for (void* p : blocks) pool.deallocate(p, 256);
  CHECK(pool.cached_bytes() == 1024);
  CHECK(pool.in_use_bytes() == 0);
}

TEST_CASE("BlockPool: trim() gives back the blocks that stayed unused since the last trim") {
  BlockPool pool;
  std::vector<void*> blocks;
  for (int i = 0; i < 10; ++i) blocks.push_back(pool.allocate(256));
  for (void* p : blocks) pool.deallocate(p, 256);
  blocks.clear();
  CHECK(pool.cached_bytes() == 10 * 256);
  // The list was empty at some point since construction: every block was needed.
  CHECK(pool.trim() == 0);
  CHECK(pool.cached_bytes() == 10 * 256);

  // Six of the ten serve a wave; the four that never left the list go back.
  for (int i = 0; i < 6; ++i) blocks.push_back(pool.allocate(250));  // the 256-byte class
  for (void* p : blocks) pool.deallocate(p, 250);
  blocks.clear();
  CHECK(pool.trim() == 4 * 256);
  CHECK(pool.cached_bytes() == 6 * 256);

  // No load at all until the next trim: the rest goes, in every size class.
  void* small = pool.allocate(32);
  pool.deallocate(small, 32);
  CHECK(pool.trim() == 6 * 256);
  CHECK(pool.trim() == 32);
  CHECK(pool.cached_bytes() == 0);
  CHECK(pool.trim() == 0);

  // The pool still works after giving everything back.
  void* again = pool.allocate(256);
  CHECK(pool.in_use_bytes() == 256);
  pool.deallocate(again, 256);
  CHECK(pool.cached_bytes() == 256);
}

TEST_CASE("BlockPool: big and over-aligned blocks bypass the lists") {
  BlockPool pool;
  void* big = pool.allocate(BlockPool::kMaxPooledBlock + 1);
  void* aligned = pool.allocate(64, 64);
  CHECK(reinterpret_cast<uintptr_t>(aligned) % 64 == 0);
  CHECK(pool.in_use_bytes() == BlockPool::kMaxPooledBlock + 1 + 64);
  pool.deallocate(big, BlockPool::kMaxPooledBlock + 1);
  pool.deallocate(aligned, 64, 64);
  CHECK(pool.cached_bytes() == 0);
  CHECK(pool.in_use_bytes() == 0);
}

TEST_CASE("BlockPool: a warm pool serves a request's blocks without touching the heap") {
  BlockPool pool;
  auto one_request = [&] {
    std::pmr::vector<int> fields(&pool);
    fields.reserve(4);
    void* stream = pool.allocate(700);
    void* item = pool.allocate(240);
    pool.deallocate(item, 240);
    pool.deallocate(stream, 700);
  };
  one_request();
  size_t before = testing::heap_allocations();
  for (int i = 0; i < 100; ++i) one_request();
  CHECK(testing::heap_allocations() == before);
}

#if defined(__SANITIZE_ADDRESS__)
TEST_CASE("BlockPool: under ASan a cached block and the slack past a block are poisoned") {
  BlockPool pool;
  auto* p = static_cast<char*>(pool.allocate(20));  // a 32-byte class
  CHECK_FALSE(__asan_address_is_poisoned(p));
  CHECK_FALSE(__asan_address_is_poisoned(p + 19));
  CHECK(__asan_address_is_poisoned(p + 24));  // slack, past the 8-byte granule holding byte 19
  pool.deallocate(p, 20);
  CHECK(__asan_address_is_poisoned(p));  // a use after free is reported
  auto* again = static_cast<char*>(pool.allocate(32));
  REQUIRE(again == p);
  CHECK_FALSE(__asan_address_is_poisoned(again + 31));
  pool.deallocate(again, 32);
}
#endif

struct Base {
  virtual ~Base() = default;
};

struct Pooled final : Base, PoolAllocated {
  explicit Pooled(bool fail) {
    if (fail) throw std::runtime_error("constructor failed");
  }
  char payload[300] = {};
};

TEST_CASE("PoolAllocated: objects come from the pool and go back to it, even through a base") {
  BlockPool pool;
  std::unique_ptr<Base> object(new (pool) Pooled(false));
  CHECK(pool.in_use_bytes() >= sizeof(Pooled));
  object.reset();
  CHECK(pool.in_use_bytes() == 0);
  CHECK(pool.cached_bytes() > 0);
  // The next one reuses the block.
  size_t before = testing::heap_allocations();
  std::unique_ptr<Base> again(new (pool) Pooled(false));
  CHECK(testing::heap_allocations() == before);
  again.reset();
  // A constructor that throws leaves nothing in use.
  CHECK_THROWS(new (pool) Pooled(true));
  CHECK(pool.in_use_bytes() == 0);
}

}  // namespace
}  // namespace lmesh::buffer
