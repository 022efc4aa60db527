// A session's streams by id: one flat array probed linearly, instead of a node-based hash map.
//
// Every nghttp2 callback names its stream by id, so a session looks a stream up for each
// header field, DATA chunk and frame sent. With std::unordered_map each lookup chased a bucket
// pointer, then a node, then the Stream: with 10,000 streams in flight those were cache misses
// and the map's find was 3 % of an HTTP/2 hop's CPU. Here the slot holds the id and the
// pointer side by side: one line read, then the Stream.
//
// Ids are spread by Fibonacci hashing rather than taken as they are: a peer chooses its stream
// ids (increasing, but with any gaps), and ids that share their low bits must not pile up in
// one run of slots. The table stays at most half full, grows by doubling and halves again
// when it falls under an eighth, so a connection that once had thousands of streams does not
// keep their slots. Deletion shifts the following entries back (no tombstones), so lookups
// never slow down as streams come and go.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <vector>

#include "common/http/h2/stream.h"

namespace lmesh::http::h2 {

class StreamTable {
 public:
  explicit StreamTable(std::pmr::memory_resource* memory) : slots_(memory) {}
  ~StreamTable() { clear(); }
  StreamTable(const StreamTable&) = delete;
  StreamTable& operator=(const StreamTable&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Slots allocated (a power of two, at least twice size(), or 0).
  size_t slot_count() const { return slots_.size(); }

  // The stream with this id, or null.
  Stream* find(StreamId id) const;
  // Takes ownership. No stream with the same id may be in the table.
  Stream& insert(std::unique_ptr<Stream> stream);
  // Gives up the stream with this id (null if there is none).
  std::unique_ptr<Stream> remove(StreamId id);
  // Gives up every stream, in no particular order; the table is empty afterwards.
  std::vector<std::unique_ptr<Stream>> take_all();
  // Frees every stream.
  void clear() { take_all(); }

 private:
  struct Slot {
    StreamId id = 0;  // 0: empty (stream 0 is the connection, never a stream)
    Stream* stream = nullptr;
  };
  static constexpr size_t kMinSlots = 8;

  size_t home(StreamId id) const {
    // Fibonacci hashing: the top bits of id * 2^32/phi.
    return static_cast<uint32_t>(static_cast<uint32_t>(id) * 2654435769u) >> (32 - bits_);
  }
  size_t mask() const { return slots_.size() - 1; }
  void rehash(size_t slot_count);
  void place(StreamId id, Stream* stream);

  std::pmr::vector<Slot> slots_;  // empty, or a power of two long
  unsigned bits_ = 0;             // log2(slots_.size())
  size_t size_ = 0;
};

}  // namespace lmesh::http::h2
