// What the commands say when lmesh-tap cannot be reached or refuses (src/cli/tap_errors.h).
#include "cli/tap_errors.h"

#include <catch2/catch.hpp>

namespace lmesh::cli {
namespace {

net::HostPort server() {
  return *net::HostPort::parse("127.0.0.1:8088");
}

TEST_CASE("unreachable: the reason without the transport's wording", "[cli][errors]") {
  CHECK(unreachable_message(server(), Error(ErrorCode::kRefused, "connect: connection refused")) ==
        "cannot reach lmesh-tap at 127.0.0.1:8088: connection refused");
  CHECK(unreachable_message(server(), Error(ErrorCode::kTimeout, "connect timed out")) ==
        "cannot reach lmesh-tap at 127.0.0.1:8088: connect timed out");
}

TEST_CASE("refusals: the detail, else the error, else the status", "[cli][errors]") {
  CHECK(refusal_message(
            server(), 404,
            R"({"error":"no match","detail":"no pods for deploy/web in namespace default"})") ==
        "no pods for deploy/web in namespace default");
  CHECK(refusal_message(server(), 502, R"({"error":"destination unreachable","detail":""})") ==
        "destination unreachable");
  CHECK(refusal_message(server(), 500, "oops") == "lmesh-tap at 127.0.0.1:8088 answered HTTP 500");
}

}  // namespace
}  // namespace lmesh::cli
