// nghttp2's error values in lmesh's terms: which ConnectionError a failure of the library (or
// a GOAWAY it sent on its own) stands for. Internal to the h2 module.
#pragma once

#include <string>

#include "common/http/h2/error.h"

namespace lmesh::http::h2 {

// The connection error behind a fatal (< NGHTTP2_ERR_FATAL) return of
// nghttp2_session_mem_recv or nghttp2_session_mem_send. `reason` adds detail when known.
ConnectionError connection_error_from_library(int lib_error_code, std::string reason);
// The kind of connection error that nghttp2 ended with a GOAWAY(code) of its own.
ConnectionErrorKind connection_error_kind(Http2ErrorCode code);

}  // namespace lmesh::http::h2
