// nghttp2's allocations (streams, frames, outbound items, header copies) from the worker's
// BlockPool instead of malloc: they are most of the blocks an HTTP/2 request allocates.
#pragma once

#include <nghttp2/nghttp2.h>

#include "common/buffer/block_pool.h"

namespace lmesh::http::h2 {

// An nghttp2_mem whose calls go to `pool`, which must outlive every session created with it.
nghttp2_mem session_memory(buffer::BlockPool& pool);

}  // namespace lmesh::http::h2
