#include "common/buffer/buffer.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace lmesh::buffer {

void Buffer::append(Slice s) {
  if (s.empty()) return;
  size_ += s.size();
  slices_.push_back(std::move(s));
}

void Buffer::append_slow(std::string_view bytes) {
  while (!bytes.empty()) {
    size_t room = 0;
    char* p = reserve(1, &room);
    size_t n = std::min(room, bytes.size());
    std::memcpy(p, bytes.data(), n);
    commit(n);
    bytes.remove_prefix(n);
  }
}

void Buffer::append(Buffer&& other) {
  if (other.empty()) return;
  for (size_t i = other.head_; i < other.slices_.size(); ++i) append(std::move(other.slices_[i]));
  other.clear();
}

void Buffer::move_prefix_to(Buffer& dest, size_t n) {
  assert(n <= size_);
  while (n > 0) {
    Slice& front = slices_[head_];
    if (front.size() <= n) {
      n -= front.size();
      size_ -= front.size();
      dest.append(std::move(front));
      ++head_;
    } else {
      dest.append(front.sub(0, n));
      front.remove_prefix(n);
      size_ -= n;
      n = 0;
    }
  }
  compact();
}

char* Buffer::reserve(size_t min, size_t* available) {
  assert(min <= pool_->chunk_size());
  if (slice_count() > 0) {
    Slice& last = slices_.back();
    size_t room = pool_->chunk_size() - last.chunk()->fill;
    if (last.can_extend() && room >= min) {
      *available = room;
      return last.chunk()->data() + last.chunk()->fill;
    }
  }
  Chunk* c = pool_->acquire();
  slices_.emplace_back(c, 0, 0);
  *available = pool_->chunk_size();
  return c->data();
}

void Buffer::commit(size_t n) {
  assert(slice_count() > 0);
  slices_.back().extend(n);
  size_ += n;
}

void Buffer::drain(size_t n) {
  assert(n <= size_);
  size_ -= n;
  while (n > 0) {
    Slice& front = slices_[head_];
    if (front.size() <= n) {
      n -= front.size();
      front.reset();
      ++head_;
    } else {
      front.remove_prefix(n);
      n = 0;
    }
  }
  compact();
}

void Buffer::clear() {
  slices_.clear();
  head_ = 0;
  size_ = 0;
}

void Buffer::compact() {
  // Drop a trailing empty slice left by reserve() without commit(), then reclaim the drained
  // prefix once it is the bigger part, so the vector never grows without bound.
  if (head_ == slices_.size()) {
    slices_.clear();
    head_ = 0;
  } else if (head_ > 8 && head_ * 2 > slices_.size()) {
    slices_.erase(slices_.begin(), slices_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

size_t Buffer::iovecs(struct iovec* out, size_t max) const {
  size_t n = 0;
  for (size_t i = head_; i < slices_.size() && n < max; ++i) {
    if (slices_[i].empty()) continue;
    out[n].iov_base = const_cast<char*>(slices_[i].data());
    out[n].iov_len = slices_[i].size();
    ++n;
  }
  return n;
}

std::string Buffer::to_string() const {
  std::string out;
  out.reserve(size_);
  for (size_t i = head_; i < slices_.size(); ++i) out.append(slices_[i].view());
  return out;
}

}  // namespace lmesh::buffer
