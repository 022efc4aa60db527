// The opaque-v1 header (src/proxy/identity/opaque_header.h): round trip, partial input, and
// everything that must be refused rather than relayed somewhere arbitrary.
#include <catch2/catch.hpp>

#include "proxy/identity/opaque_header.h"

namespace lmesh::proxy {
namespace {

TEST_CASE("an opaque header round-trips and leaves the bytes behind it", "[proxy][opaque]") {
  std::string bytes = opaque_header(8080) + "220 hello";
  auto h = parse_opaque_header(bytes);
  REQUIRE(h.has_value());
  REQUIRE(h->has_value());
  CHECK((*h)->port == 8080);
  CHECK(bytes.substr((*h)->length) == "220 hello");
}

TEST_CASE("a partial opaque header asks for more", "[proxy][opaque]") {
  for (std::string_view partial : {"", "p", "port=", "port=80"}) {
    auto h = parse_opaque_header(partial);
    REQUIRE(h.has_value());
    CHECK(!h->has_value());
  }
}

TEST_CASE("bad opaque headers are refused", "[proxy][opaque]") {
  for (std::string_view bad : {"GET / HTTP/1.1\r\n", "port=0\n", "port=65536\n", "port=80x\n",
                               "port=\n", "port=-1\n", "port=000000000000000080"}) {
    INFO(bad);
    CHECK(!parse_opaque_header(bad).has_value());
  }
}

}  // namespace
}  // namespace lmesh::proxy
