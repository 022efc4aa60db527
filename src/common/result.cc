#include "common/result.h"

#include <uv.h>

namespace lmesh {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kIo: return "i/o error";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kRefused: return "refused";
    case ErrorCode::kProtocol: return "protocol error";
    case ErrorCode::kTooLarge: return "too large";
    case ErrorCode::kClosed: return "closed";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown";
}

Error Error::from_uv(int uv_status, std::string_view what) {
  ErrorCode code = ErrorCode::kIo;
  if (uv_status == UV_ECONNREFUSED) code = ErrorCode::kRefused;
  if (uv_status == UV_ETIMEDOUT) code = ErrorCode::kTimeout;
  if (uv_status == UV_EOF || uv_status == UV_ECONNRESET || uv_status == UV_EPIPE) {
    code = ErrorCode::kClosed;
  }
  std::string msg(what);
  msg += ": ";
  msg += uv_strerror(uv_status);
  return Error(code, std::move(msg));
}

std::string Error::describe() const {
  std::string out = message_;
  for (const Error* c = cause(); c != nullptr; c = c->cause()) {
    out += ": ";
    out += c->message();
  }
  return out;
}

}  // namespace lmesh
