#include "common/http/h2/stream_table.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <utility>

namespace lmesh::http::h2 {

Stream* StreamTable::find(StreamId id) const {
  if (size_ == 0) return nullptr;
  for (size_t i = home(id);; i = (i + 1) & mask()) {
    const Slot& slot = slots_[i];
    if (slot.id == id) return slot.stream;
    if (slot.id == 0) return nullptr;
  }
}

Stream& StreamTable::insert(std::unique_ptr<Stream> stream) {
  assert(stream != nullptr && stream->id() != 0 && find(stream->id()) == nullptr);
  if ((size_ + 1) * 2 > slots_.size()) rehash(std::max(kMinSlots, slots_.size() * 2));
  Stream& s = *stream;
  place(s.id(), stream.release());
  ++size_;
  return s;
}

std::unique_ptr<Stream> StreamTable::remove(StreamId id) {
  if (size_ == 0) return nullptr;
  size_t i = home(id);
  while (slots_[i].id != id) {
    if (slots_[i].id == 0) return nullptr;
    i = (i + 1) & mask();
  }
  std::unique_ptr<Stream> removed(slots_[i].stream);
  // Backward shift: an entry after the hole moves into it when the hole lies on its probe path
  // (between its home slot and where it sits), so every entry stays reachable from its home.
  for (size_t j = (i + 1) & mask(); slots_[j].id != 0; j = (j + 1) & mask()) {
    size_t from_home = (j - home(slots_[j].id)) & mask();
    size_t from_hole = (j - i) & mask();
    if (from_home >= from_hole) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = Slot{};
  --size_;
  if (slots_.size() > kMinSlots && size_ * 8 < slots_.size()) rehash(slots_.size() / 2);
  return removed;
}

std::vector<std::unique_ptr<Stream>> StreamTable::take_all() {
  std::vector<std::unique_ptr<Stream>> all;
  all.reserve(size_);
  for (Slot& slot : slots_) {
    if (slot.id != 0) all.emplace_back(slot.stream);
    slot = Slot{};
  }
  size_ = 0;
  return all;
}

void StreamTable::rehash(size_t slot_count) {
  assert(std::has_single_bit(slot_count) && slot_count >= size_ * 2);
  std::pmr::vector<Slot> old(slot_count, slots_.get_allocator());
  old.swap(slots_);
  bits_ = static_cast<unsigned>(std::countr_zero(slot_count));
  for (const Slot& slot : old) {
    if (slot.id != 0) place(slot.id, slot.stream);
  }
}

void StreamTable::place(StreamId id, Stream* stream) {
  size_t i = home(id);
  while (slots_[i].id != 0) i = (i + 1) & mask();
  slots_[i] = Slot{id, stream};
}

}  // namespace lmesh::http::h2
