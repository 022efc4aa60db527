#include "common/http/h2/session_memory.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory_resource>
#include <new>

namespace lmesh::http::h2 {

namespace {

// nghttp2's free() and realloc() do not say how big the block is; a std::pmr resource needs
// to know. Each block carries its size in a header of one alignment unit, so what follows it
// is aligned as malloc's result would be.
constexpr size_t kHeader = alignof(std::max_align_t);

std::pmr::memory_resource& resource(void* user) {
  return *static_cast<buffer::BlockPool*>(user);
}

void* allocate(size_t size, void* user) {
  try {
    auto* block = static_cast<char*>(resource(user).allocate(kHeader + size, kHeader));
    std::memcpy(block, &size, sizeof size);
    return block + kHeader;
  } catch (const std::bad_alloc&) {
    return nullptr;  // nghttp2 reports NGHTTP2_ERR_NOMEM
  }
}

size_t size_of(void* ptr) {
  size_t size;
  std::memcpy(&size, static_cast<char*>(ptr) - kHeader, sizeof size);
  return size;
}

void release(void* ptr, void* user) {
  if (ptr == nullptr) return;
  resource(user).deallocate(static_cast<char*>(ptr) - kHeader, kHeader + size_of(ptr), kHeader);
}

void* allocate_zeroed(size_t count, size_t size, void* user) {
  if (size != 0 && count > SIZE_MAX / size) return nullptr;
  void* p = allocate(count * size, user);
  if (p != nullptr) std::memset(p, 0, count * size);
  return p;
}

void* reallocate(void* ptr, size_t size, void* user) {
  if (ptr == nullptr) return allocate(size, user);
  if (size == 0) {
    release(ptr, user);
    return nullptr;
  }
  size_t old_size = size_of(ptr);
  void* p = allocate(size, user);
  if (p == nullptr) return nullptr;  // the old block stays valid, as realloc's does
  std::memcpy(p, ptr, std::min(old_size, size));
  release(ptr, user);
  return p;
}

}  // namespace

nghttp2_mem session_memory(buffer::BlockPool& pool) {
  return nghttp2_mem{&pool, allocate, release, allocate_zeroed, reallocate};
}

}  // namespace lmesh::http::h2
