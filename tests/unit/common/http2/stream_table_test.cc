// StreamTable: lookups, removal with backward shift, growth and shrinking, ids a peer may pick
// to collide, and ownership (every stream freed, whichever way it leaves).
#include "common/http/h2/stream_table.h"

#include <cstdint>
#include <map>
#include <memory>
#include <random>

#include <catch2/catch.hpp>

#include "common/buffer/block_pool.h"
#include "common/buffer/chunk_pool.h"

namespace lmesh::http::h2 {
namespace {

struct Fixture {
  buffer::ChunkPool chunks;
  buffer::BlockPool blocks;
  std::unique_ptr<Stream> make(StreamId id) {
    return std::unique_ptr<Stream>(new (blocks) Stream(id, chunks, &blocks));
  }
};

TEST_CASE("StreamTable: finds what was inserted and nothing else") {
  Fixture f;
  StreamTable table(&f.blocks);
  CHECK(table.find(1) == nullptr);
  CHECK(table.remove(1) == nullptr);
  Stream& one = table.insert(f.make(1));
  Stream& three = table.insert(f.make(3));
  CHECK(table.size() == 2);
  CHECK(table.find(1) == &one);
  CHECK(table.find(3) == &three);
  CHECK(table.find(5) == nullptr);
  std::unique_ptr<Stream> removed = table.remove(1);
  CHECK(removed.get() == &one);
  CHECK(table.find(1) == nullptr);
  CHECK(table.find(3) == &three);
  CHECK(table.size() == 1);
}

TEST_CASE("StreamTable: agrees with a map through growth, removal and shrinking") {
  Fixture f;
  {
    StreamTable table(&f.blocks);
    std::map<StreamId, Stream*> expected;
    std::mt19937 rng(7);
    StreamId next = 1;
    size_t most_slots = 0;
    // Waves up to 5,000 streams open, closed in random order, with a few long-lived ones.
    for (int wave = 0; wave < 6; ++wave) {
      int opens = wave % 2 == 0 ? 5000 : 50;
      for (int i = 0; i < opens; ++i, next += 2) {
        expected[next] = &table.insert(f.make(next));
      }
      most_slots = std::max(most_slots, table.slot_count());
      CHECK(table.slot_count() >= 2 * table.size());
      while (expected.size() > (wave % 2 == 0 ? 100u : 3u)) {
        auto it = expected.begin();
        std::advance(it, static_cast<long>(rng() % expected.size()));
        std::unique_ptr<Stream> gone = table.remove(it->first);
        REQUIRE(gone.get() == it->second);
        expected.erase(it);
      }
      REQUIRE(table.size() == expected.size());
      for (StreamId id = 1; id < next; id += 2) {
        auto it = expected.find(id);
        REQUIRE(table.find(id) == (it == expected.end() ? nullptr : it->second));
      }
    }
    CHECK(most_slots >= 8192);
    CHECK(table.slot_count() <= 64);  // three streams left: the slots went back
  }
  CHECK(f.blocks.in_use_bytes() == 0);  // the table freed the streams it still held
}

TEST_CASE("StreamTable: ids that share their low bits do not pile up on one slot") {
  Fixture f;
  StreamTable table(&f.blocks);
  // A peer may skip ids: 1, 1 + 2^16, 1 + 2 * 2^16, ... all equal modulo any table size.
  std::vector<StreamId> ids;
  for (StreamId i = 0; i < 100; ++i) ids.push_back(1 + i * (1 << 16));
  for (StreamId id : ids) table.insert(f.make(id));
  for (StreamId id : ids) REQUIRE(table.find(id) != nullptr);
  for (size_t i = 0; i < ids.size(); i += 2) REQUIRE(table.remove(ids[i]) != nullptr);
  for (size_t i = 0; i < ids.size(); ++i) {
    REQUIRE((table.find(ids[i]) != nullptr) == (i % 2 == 1));
  }
}

TEST_CASE("StreamTable: take_all() hands over every stream and leaves the table usable") {
  Fixture f;
  StreamTable table(&f.blocks);
  for (StreamId id = 1; id < 40; id += 2) table.insert(f.make(id));
  auto all = table.take_all();
  CHECK(all.size() == 20);
  CHECK(table.empty());
  CHECK(table.find(1) == nullptr);
  all.clear();
  CHECK(f.blocks.in_use_bytes() == table.slot_count() * 16);  // only the slots remain
  table.insert(f.make(41));
  CHECK(table.find(41) != nullptr);
}

}  // namespace
}  // namespace lmesh::http::h2
