// Errors as values at module edges (STYLE.md §8): no exceptions cross a module boundary on
// the data plane. An Error carries a code a caller can branch on, a message a human can read,
// and optionally the error that caused it.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace lmesh {

enum class ErrorCode {
  kInvalidArgument,  // bad configuration or API input
  kIo,               // a system call failed; sys_errno says which
  kTimeout,
  kRefused,   // the peer refused (connection refused, 4xx from a controller)
  kProtocol,  // the peer violated the protocol
  kTooLarge,  // a size limit was hit
  kClosed,    // the resource is gone (connection closed, worker stopped)
  kNotFound,
  kInternal,  // a bug: an impossible state was reached
};

std::string_view to_string(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  // Wraps `cause` with context, e.g. Error::wrap(e, "binding outbound listener").
  static Error wrap(Error cause, std::string message) {
    Error e(cause.code(), std::move(message));
    e.cause_ = std::make_shared<const Error>(std::move(cause));
    return e;
  }

  // An error from a libuv or system call: `uv_status` is a negative libuv error code.
  static Error from_uv(int uv_status, std::string_view what);

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const Error* cause() const { return cause_.get(); }

  // "message: cause message: ..." for logs and error responses.
  std::string describe() const;

 private:
  ErrorCode code_;
  std::string message_;
  std::shared_ptr<const Error> cause_;
};

template <class T>
using Result = std::expected<T, Error>;

// Shorthand for `return fail(ErrorCode::kX, "...")` in functions returning Result<T>.
inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(std::in_place, code, std::move(message));
}
inline std::unexpected<Error> fail(Error e) {
  return std::unexpected<Error>(std::move(e));
}

}  // namespace lmesh
