// Error and Result (src/common/result.h): codes a caller can branch on, messages that read as
// a chain of causes, and libuv status codes mapped onto codes.
#include "common/result.h"

#include <uv.h>

#include <string>

#include <catch2/catch.hpp>

namespace lmesh {
namespace {

Result<int> half(int n) {
  if (n % 2 != 0) return fail(ErrorCode::kInvalidArgument, std::to_string(n) + " is odd");
  return n / 2;
}

Result<void> must_be_even(int n) {
  if (auto h = half(n); !h) return fail(Error::wrap(h.error(), "checking " + std::to_string(n)));
  return {};
}

TEST_CASE("Error carries a code and a message", "[result]") {
  Error e(ErrorCode::kNotFound, "no such endpoint");
  CHECK(e.code() == ErrorCode::kNotFound);
  CHECK(e.message() == "no such endpoint");
  CHECK(e.cause() == nullptr);
  CHECK(e.describe() == "no such endpoint");
}

TEST_CASE("Error::wrap keeps the cause's code and chains the messages", "[result]") {
  Error root(ErrorCode::kRefused, "connect: connection refused");
  Error mid = Error::wrap(root, "dialing 10.0.0.1:80");
  Error top = Error::wrap(mid, "forwarding request");

  CHECK(top.code() == ErrorCode::kRefused);
  CHECK(top.message() == "forwarding request");
  REQUIRE(top.cause() != nullptr);
  CHECK(top.cause()->message() == "dialing 10.0.0.1:80");
  REQUIRE(top.cause()->cause() != nullptr);
  CHECK(top.cause()->cause()->message() == "connect: connection refused");
  CHECK(top.cause()->cause()->cause() == nullptr);
  CHECK(top.describe() == "forwarding request: dialing 10.0.0.1:80: connect: connection refused");
  // Wrapping does not change what was wrapped.
  CHECK(mid.describe() == "dialing 10.0.0.1:80: connect: connection refused");
}

TEST_CASE("a copied Error keeps its cause after the original is gone", "[result]") {
  Error copy(ErrorCode::kInternal, "placeholder");
  {
    Error original = Error::wrap(Error(ErrorCode::kTimeout, "inner"), "outer");
    copy = original;
  }
  CHECK(copy.code() == ErrorCode::kTimeout);
  CHECK(copy.describe() == "outer: inner");
}

TEST_CASE("Error::from_uv maps libuv status codes", "[result]") {
  struct Case {
    int status;
    ErrorCode code;
  };
  const Case cases[] = {
      {UV_ECONNREFUSED, ErrorCode::kRefused}, {UV_ETIMEDOUT, ErrorCode::kTimeout},
      {UV_EOF, ErrorCode::kClosed},           {UV_ECONNRESET, ErrorCode::kClosed},
      {UV_EPIPE, ErrorCode::kClosed},         {UV_EACCES, ErrorCode::kIo},
      {UV_EADDRINUSE, ErrorCode::kIo},        {UV_ENOENT, ErrorCode::kIo},
      {UV_ECANCELED, ErrorCode::kIo},
  };
  for (const Case& c : cases) {
    INFO(uv_err_name(c.status));
    Error e = Error::from_uv(c.status, "doing it");
    CHECK(e.code() == c.code);
    // "what: strerror", so logs say both what failed and why.
    CHECK(e.message() == std::string("doing it: ") + uv_strerror(c.status));
    CHECK(e.cause() == nullptr);
  }
}

TEST_CASE("to_string names every ErrorCode", "[result]") {
  CHECK(to_string(ErrorCode::kInvalidArgument) == "invalid argument");
  CHECK(to_string(ErrorCode::kIo) == "i/o error");
  CHECK(to_string(ErrorCode::kTimeout) == "timeout");
  CHECK(to_string(ErrorCode::kRefused) == "refused");
  CHECK(to_string(ErrorCode::kProtocol) == "protocol error");
  CHECK(to_string(ErrorCode::kTooLarge) == "too large");
  CHECK(to_string(ErrorCode::kClosed) == "closed");
  CHECK(to_string(ErrorCode::kNotFound) == "not found");
  CHECK(to_string(ErrorCode::kInternal) == "internal error");
  CHECK(to_string(static_cast<ErrorCode>(999)) == "unknown");
}

TEST_CASE("fail() builds the unexpected side of a Result", "[result]") {
  auto ok = half(8);
  REQUIRE(ok.has_value());
  CHECK(*ok == 4);

  auto odd = half(7);
  REQUIRE(!odd.has_value());
  CHECK(odd.error().code() == ErrorCode::kInvalidArgument);
  CHECK(odd.error().message() == "7 is odd");

  CHECK(must_be_even(2).has_value());
  auto bad = must_be_even(3);
  REQUIRE(!bad);
  CHECK(bad.error().code() == ErrorCode::kInvalidArgument);
  CHECK(bad.error().describe() == "checking 3: 3 is odd");
}

}  // namespace
}  // namespace lmesh
