// A rejected field in a discovery document: where (a JSON Pointer, RFC 6901, such as
// "/routes/0/timeout_ms") and why. The destination service maps the pointer back to a line of
// the mesh file it came from; the proxy logs it as it is.
#pragma once

#include <expected>
#include <string>

#include "common/result.h"

namespace lmesh::discovery {

struct FieldError {
  std::string pointer;
  std::string message;

  // "/routes/0/timeout_ms: must be a whole number of milliseconds"
  std::string describe() const { return (pointer.empty() ? "/" : pointer) + ": " + message; }
  Error to_error() const { return Error(ErrorCode::kInvalidArgument, describe()); }
};

template <class T>
using Parsed = std::expected<T, FieldError>;

}  // namespace lmesh::discovery
