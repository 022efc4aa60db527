// What an HTTP/2 session announces in its SETTINGS and the abuse limits it enforces. Every
// field is plain data; validate() names the first field out of the range RFC 9113 allows.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/result.h"

namespace lmesh::http::h2 {

struct SessionConfig {
  // SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 §6.5.2): streams the peer may have open towards
  // this side at once. Bounds the per-connection work a peer can start.
  uint32_t max_concurrent_streams = 100;

  // SETTINGS_INITIAL_WINDOW_SIZE: bytes the peer may send on one stream before the owner
  // consume()s them. This is the per-stream buffering a slow reader costs (RFC 9113 §6.9.2).
  uint32_t initial_stream_window = 65535;

  // The receive window of the whole connection, raised from the protocol's 65535 with a
  // WINDOW_UPDATE at start (§6.9.2: SETTINGS cannot change it). Bounds the bytes delivered to
  // the owner and not yet consumed, over all streams.
  uint32_t connection_window = 1024 * 1024;

  // SETTINGS_MAX_FRAME_SIZE: the largest frame payload this side accepts (16 KiB ... 16 MiB-1).
  uint32_t max_frame_size = 16384;

  // SETTINGS_MAX_HEADER_LIST_SIZE, enforced on every received header block (names + values
  // + 32 bytes per field, as §6.5.2 counts). A server answers a request over it with 431
  // (RFC 9113 §10.5.1); a client cancels a response over it.
  uint32_t max_header_list_size = 64 * 1024;

  // Client only: how many streams to open before the server's first SETTINGS says how many it
  // allows, so that a burst of early requests is not refused.
  uint32_t assumed_peer_max_concurrent_streams = 100;

  // PING and SETTINGS acknowledgements queued and not yet produced before the peer counts as
  // flooding (nghttp2's max_outbound_ack). A peer that sends PINGs and does not read the
  // answers fills this queue once the owner stops calling produce() on write backpressure.
  size_t max_outbound_ack = 1000;

  // Entries accepted in one SETTINGS frame.
  size_t max_settings_entries = 32;

  // Server only: RST_STREAMs a client may send, as a token bucket of `reset_burst` tokens
  // refilled at `reset_rate_per_second` (the "rapid reset" attack, CVE-2023-44487).
  uint64_t reset_burst = 1000;
  uint64_t reset_rate_per_second = 33;

  // CONTINUATION frames accepted after one HEADERS frame (CVE-2024-28182).
  size_t max_continuations = 8;

  // DATA payloads shorter than this are copied into the output next to their frame header;
  // longer ones are moved into it as the owner's slices. Copying a few hundred bytes is cheaper
  // than an iovec of their own.
  size_t copy_data_below = 1024;

  Result<void> validate() const;
};

}  // namespace lmesh::http::h2
