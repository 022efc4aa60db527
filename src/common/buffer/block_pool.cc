#include "common/buffer/block_pool.h"

#include <sanitizer/asan_interface.h>

#include <cassert>
#include <new>

namespace lmesh::buffer {

namespace {

// Blocks above the pooled sizes, or aligned beyond what every block is, bypass the lists.
bool pooled(size_t bytes, size_t alignment) {
  return bytes != 0 && bytes <= BlockPool::kMaxPooledBlock && alignment <= BlockPool::kGranule;
}

bool overaligned(size_t alignment) {
  return alignment > __STDCPP_DEFAULT_NEW_ALIGNMENT__;
}

size_t class_of(size_t bytes) {
  return (bytes - 1) / BlockPool::kGranule;
}

size_t class_bytes(size_t index) {
  return (index + 1) * BlockPool::kGranule;
}

// Under AddressSanitizer a cached block is poisoned, and so is the slack past the size asked
// for: a use after free (or a small overflow) of a pooled object is still reported, as it would
// be with malloc. Without it these are no-ops.
void poison_cached(void* block, size_t index) {
  ASAN_POISON_MEMORY_REGION(block, class_bytes(index));
}
void unpoison_for_use(void* block, size_t bytes, size_t index) {
  ASAN_UNPOISON_MEMORY_REGION(block, bytes);
  ASAN_POISON_MEMORY_REGION(static_cast<char*>(block) + bytes, class_bytes(index) - bytes);
}
void unpoison_all(void* block, size_t index) {
  ASAN_UNPOISON_MEMORY_REGION(block, class_bytes(index));
}

}  // namespace

BlockPool::BlockPool(size_t max_cached_bytes) : max_cached_bytes_(max_cached_bytes) {}

BlockPool::~BlockPool() {
  // A block still out here would be freed later through a pool that is gone.
  assert(in_use_bytes_ == 0);
  for (size_t i = 0; i < kClasses; ++i) {
    while (FreeBlock* b = free_[i].head) {
      unpoison_all(b, i);
      free_[i].head = b->next;
      ::operator delete(b, class_bytes(i));
    }
  }
}

size_t BlockPool::trim() {
  size_t freed = 0;
  for (size_t i = 0; i < kClasses; ++i) {
    FreeList& list = free_[i];
    uint32_t unused = list.low_water;
    // From the head: the work is one step per block given back, whatever the list's length
    // (the blocks freed longest ago are at its end, but reaching them walks all the others).
    for (uint32_t n = 0; n < unused; ++n) {
      FreeBlock* b = list.head;
      unpoison_all(b, i);
      list.head = b->next;
      ::operator delete(b, class_bytes(i));
    }
    list.count -= unused;
    freed += unused * class_bytes(i);
    list.low_water = list.count;
  }
  cached_bytes_ -= freed;
  return freed;
}

void* BlockPool::do_allocate(size_t bytes, size_t alignment) {
  if (!pooled(bytes, alignment)) {
    void* p = overaligned(alignment) ? ::operator new (bytes, std::align_val_t{alignment})
                                     : ::operator new(bytes);
    in_use_bytes_ += bytes;
    return p;
  }
  size_t index = class_of(bytes);
  void* p;
  FreeList& list = free_[index];
  if (FreeBlock* b = list.head) {
    unpoison_all(b, index);
    list.head = b->next;
    if (--list.count < list.low_water) list.low_water = list.count;
    // With thousands of requests in flight, a block freed a while ago has left the cache, and
    // reading its link was the pool's whole cost: fetch the next block's line now, while the
    // caller works on this one.
    if (b->next != nullptr) __builtin_prefetch(b->next, 1);
    cached_bytes_ -= class_bytes(index);
    p = b;
  } else {
    // The class's size, not the one asked for: the block may serve any size of its class later.
    p = ::operator new(class_bytes(index));
  }
  unpoison_for_use(p, bytes, index);
  in_use_bytes_ += bytes;
  return p;
}

void BlockPool::do_deallocate(void* p, size_t bytes, size_t alignment) {
  assert(in_use_bytes_ >= bytes);
  in_use_bytes_ -= bytes;
  if (!pooled(bytes, alignment)) {
    if (overaligned(alignment)) {
      ::operator delete (p, bytes, std::align_val_t{alignment});
    } else {
      ::operator delete(p, bytes);
    }
    return;
  }
  size_t index = class_of(bytes);
  unpoison_all(p, index);  // the slack past what was asked for: the heap's again, or the link's
  if (cached_bytes_ + class_bytes(index) > max_cached_bytes_) {
    ::operator delete(p, class_bytes(index));
    return;
  }
  // LIFO: the next allocation of this size gets the block most likely still in cache.
  FreeList& list = free_[index];
  auto* b = static_cast<FreeBlock*>(p);
  b->next = list.head;
  list.head = b;
  ++list.count;
  poison_cached(b, index);
  cached_bytes_ += class_bytes(index);
}

}  // namespace lmesh::buffer
