// Flow control wired to backpressure: the receiver's consume() is what reopens the sender's
// windows, so a reader that does not pass bytes on stalls the writer at the window.
#include <catch2/catch.hpp>

#include "h2_test_util.h"

namespace lmesh::http::h2 {
namespace {

using testing::Pair;
using testing::request;
using testing::response;

TEST_CASE("h2 flow control: a receiver that does not consume stalls the sender at the window") {
  Pair p;
  p.server_rec.auto_consume = false;
  p.server_rec.on_request = [&](Stream& s, bool) {
    REQUIRE(p.server->submit_response(s, response(200), false));
  };
  constexpr size_t kBody = 200 * 1024;
  auto cs = p.client->submit_request(request("POST", "/upload"), false);
  REQUIRE(cs);
  Stream& c = **cs;
  REQUIRE(p.client->send_data(c, p.buf(std::string(kBody, 'x')), true));
  CHECK(c.queued_bytes() == kBody);
  CHECK(p.client->queued_bytes() == kBody);
  p.shuttle();

  // The stream window (65535 by default) is all the server was sent; the rest waits in the
  // client, visible to its owner.
  CHECK(p.server_rec.delivered == 65535);
  CHECK(c.queued_bytes() == kBody - 65535);
  CHECK(p.client->send_window(c) == 0);
  Stream* s = p.server->find_stream(1);
  REQUIRE(s != nullptr);
  CHECK(s->unconsumed_bytes() == 65535);

  // More shuttling changes nothing: no window update without consume().
  p.shuttle();
  CHECK(p.server_rec.delivered == 65535);

  // Consuming what was delivered reopens the window; repeat until the body is through.
  int rounds = 0;
  while (p.server_rec.delivered < kBody && rounds++ < 100) {
    size_t before = c.queued_bytes();
    p.server->consume(*s, s->unconsumed_bytes());
    p.shuttle();
    CHECK(c.queued_bytes() < before);
  }
  CHECK(p.server_rec.delivered == kBody);
  CHECK(c.queued_bytes() == 0);
  CHECK(p.client->queued_bytes() == 0);
  CHECK(p.client_rec.data_sent_calls > 0);
  CHECK(p.server_rec.with("end").size() == 1);
}

TEST_CASE("h2 flow control: the connection window bounds all streams together") {
  SessionConfig server_config;
  server_config.initial_stream_window = 1024 * 1024;  // the connection window binds first
  server_config.connection_window = 65535;
  Pair p(server_config);
  p.server_rec.auto_consume = false;
  std::vector<Stream*> streams;
  for (int i = 0; i < 3; ++i) {
    auto s = p.client->submit_request(request("POST", "/" + std::to_string(i)), false);
    REQUIRE(s);
    streams.push_back(*s);
  }
  p.shuttle();  // heads and SETTINGS first, so the streams' windows are the server's
  for (Stream* s : streams) REQUIRE(p.client->send_data(*s, p.buf(std::string(40000, 'y')), true));
  p.shuttle();
  CHECK(p.server_rec.delivered == 65535);
  CHECK(p.client->queued_bytes() == 3 * 40000 - 65535);
  CHECK(p.client->connection_send_window() == 0);

  // Consuming one stream's bytes reopens the connection for all of them.
  for (int round = 0; round < 20 && p.server_rec.delivered < 3 * 40000; ++round) {
    for (auto& [id, stream] : p.server_rec.streams) {
      p.server->consume(*stream, stream->unconsumed_bytes());
    }
    p.shuttle();
  }
  CHECK(p.server_rec.delivered == 3 * 40000);
  CHECK(p.server_rec.with("end").size() == 3);
}

TEST_CASE("h2 flow control: consume() after the stream closed still reopens the connection") {
  SessionConfig server_config;
  server_config.connection_window = 65535;
  Pair p(server_config);
  p.server_rec.auto_consume = false;
  p.server_rec.on_end = [&](Stream& s) {
    REQUIRE(p.server->submit_response(s, response(200), true));
  };
  auto first = p.client->submit_request(request("POST", "/1"), false);
  REQUIRE(first);
  REQUIRE(p.client->send_data(**first, p.buf(std::string(60000, 'a')), true));
  p.shuttle();
  CHECK(p.server_rec.closed == 1);  // closed with 60000 bytes the owner still holds
  auto second = p.client->submit_request(request("POST", "/2"), false);
  REQUIRE(second);
  REQUIRE(p.client->send_data(**second, p.buf(std::string(60000, 'b')), true));
  p.shuttle();
  CHECK(p.server_rec.delivered == 65535);  // the connection window is spent
  CHECK(p.server_rec.bodies[3].size() == 65535 - 60000);
  p.server->consume(StreamId{1}, 60000);  // the owner passed the first body on
  p.shuttle();
  CHECK(p.server_rec.delivered == 120000);
  CHECK(p.server_rec.bodies[3].size() == 60000);
}

TEST_CASE("h2 flow control: large DATA payloads reach the peer as the sender's own chunks") {
  Pair p;
  const buffer::Chunk* sent_chunk = nullptr;
  std::vector<const buffer::Chunk*> received_chunks;
  p.server_rec.on_data_hook = [&](Stream&, const buffer::Slice& data) {
    received_chunks.push_back(data.chunk());
  };
  auto cs = p.client->submit_request(request("POST", "/"), false);
  REQUIRE(cs);
  buffer::Buffer body = p.buf(std::string(8000, 'z'));
  REQUIRE(body.slice_count() == 1);
  sent_chunk = body.slice(0).chunk();
  REQUIRE(p.client->send_data(**cs, std::move(body), true));
  p.shuttle();
  REQUIRE(received_chunks.size() == 1);
  // No copy anywhere: client queue -> client output -> server feed -> server on_data.
  CHECK(received_chunks[0] == sent_chunk);
  CHECK(p.server_rec.bodies[1] == std::string(8000, 'z'));
}

TEST_CASE("h2 flow control: an idle session holds no buffer memory") {
  Pair p;
  p.server_rec.on_request = [&](Stream& s, bool) {
    REQUIRE(p.server->submit_response(s, response(200), false));
    REQUIRE(p.server->send_data(s, p.buf(std::string(30000, 'r')), true));
  };
  REQUIRE(p.client->submit_request(request("GET", "/"), true));
  p.shuttle();
  CHECK(p.client_rec.bodies[1].size() == 30000);
  CHECK(p.pool.in_use() == 0);
}

}  // namespace
}  // namespace lmesh::http::h2
