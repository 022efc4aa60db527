#include "common/buffer/chunk_pool.h"

#include <cassert>
#include <cstdlib>
#include <new>

namespace lmesh::buffer {

ChunkPool::ChunkPool(size_t chunk_size, size_t max_cached)
    : chunk_size_(chunk_size), max_cached_(max_cached) {
  free_.reserve(max_cached_);
}

ChunkPool::~ChunkPool() {
  // A chunk still referenced here would dangle: its owner outlived the worker's pool.
  assert(in_use_ == 0);
  for (Chunk* c : free_) std::free(c);
}

Chunk* ChunkPool::acquire() {
  Chunk* c;
  if (!free_.empty()) {
    c = free_.back();
    free_.pop_back();
  } else {
    void* mem = std::malloc(sizeof(Chunk) + chunk_size_);
    if (mem == nullptr) throw std::bad_alloc();
    c = static_cast<Chunk*>(mem);
  }
  c->pool = this;
  c->refs = 1;
  c->fill = 0;
  ++in_use_;
  return c;
}

void ChunkPool::release(Chunk* c) {
  --in_use_;
  if (free_.size() < max_cached_) {
    free_.push_back(c);  // LIFO: the next read lands in a cache-warm chunk
  } else {
    std::free(c);
  }
}

}  // namespace lmesh::buffer
