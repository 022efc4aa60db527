// Durations and numbers as written in flags and environment variables
// (src/common/config/duration.h): every value names its unit, and bad input is an error that
// quotes it.
#include "common/config/duration.h"

#include <chrono>
#include <cstdint>
#include <string>

#include <catch2/catch.hpp>

namespace lmesh::config {
namespace {

using std::chrono::milliseconds;

TEST_CASE("parse_duration accepts ms, s, m and h", "[config][duration]") {
  CHECK(parse_duration("500ms").value() == milliseconds(500));
  CHECK(parse_duration("10s").value() == milliseconds(10'000));
  CHECK(parse_duration("5m").value() == milliseconds(300'000));
  CHECK(parse_duration("1h").value() == milliseconds(3'600'000));
  CHECK(parse_duration("0ms").value() == milliseconds(0));
  CHECK(parse_duration("0s").value() == milliseconds(0));
  CHECK(parse_duration("1ms").value() == milliseconds(1));
  CHECK(parse_duration("007s").value() == milliseconds(7'000));
}

TEST_CASE("parse_duration takes a bare 0 to mean disabled", "[config][duration]") {
  CHECK(parse_duration("0").value() == milliseconds(0));
}

TEST_CASE("parse_duration rejects values without a valid unit", "[config][duration]") {
  for (const char* bad : {"5", "00", "5parsecs", "5S", "5 s", "5sec", "5ms ", "1.5s", "s", "ms"}) {
    INFO(bad);
    auto d = parse_duration(bad);
    REQUIRE(!d);
    CHECK(d.error().code() == ErrorCode::kInvalidArgument);
    // The message quotes the bad value so that the operator can find it.
    CHECK_THAT(d.error().message(), Catch::Contains(std::string("'") + bad + "'"));
  }
}

TEST_CASE("parse_duration rejects empty, signed and padded input", "[config][duration]") {
  for (const char* bad : {"", "-1s", "+1s", " 1s", "-0", "\t5s"}) {
    INFO("'" << bad << "'");
    auto d = parse_duration(bad);
    REQUIRE(!d);
    CHECK(d.error().code() == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("parse_duration rejects durations that overflow", "[config][duration]") {
  // More digits than uint64_t holds.
  auto huge = parse_duration("99999999999999999999999s");
  REQUIRE(!huge);
  CHECK(huge.error().code() == ErrorCode::kInvalidArgument);

  // Fits in uint64_t but not once converted to milliseconds.
  auto too_long = parse_duration("18446744073709551615h");
  REQUIRE(!too_long);
  CHECK_THAT(too_long.error().message(), Catch::Contains("too long"));

  // The limit is 2^40 ms (about 35 years): just at it passes, just above fails.
  CHECK(parse_duration("1099511627776ms").value() == milliseconds(uint64_t{1} << 40));
  CHECK(!parse_duration("1099511627777ms"));
  CHECK(parse_duration("305419h").has_value());   // 305419 h < 2^40 ms
  CHECK(!parse_duration("305420h").has_value());  // 305420 h > 2^40 ms
}

TEST_CASE("parse_unsigned accepts numbers within the range", "[config][number]") {
  CHECK(parse_unsigned("0", 0, 10).value() == 0);
  CHECK(parse_unsigned("10", 0, 10).value() == 10);
  CHECK(parse_unsigned("1", 1, 1).value() == 1);
  CHECK(parse_unsigned("18446744073709551615", 0, UINT64_MAX).value() == UINT64_MAX);
  CHECK(parse_unsigned("0042", 1, 100).value() == 42);
}

TEST_CASE("parse_unsigned rejects numbers outside the range and names it", "[config][number]") {
  auto low = parse_unsigned("0", 1, 256);
  REQUIRE(!low);
  CHECK(low.error().code() == ErrorCode::kInvalidArgument);
  CHECK(low.error().message() == "'0' is out of range [1, 256]");

  auto high = parse_unsigned("257", 1, 256);
  REQUIRE(!high);
  CHECK(high.error().message() == "'257' is out of range [1, 256]");
}

TEST_CASE("parse_unsigned rejects what is not a plain decimal number", "[config][number]") {
  for (const char* bad :
       {"", "abc", "12abc", "-1", "+1", " 1", "1 ", "1.0", "0x10", "18446744073709551616"}) {
    INFO("'" << bad << "'");
    auto n = parse_unsigned(bad, 0, UINT64_MAX);
    REQUIRE(!n);
    CHECK(n.error().code() == ErrorCode::kInvalidArgument);
    CHECK(n.error().message() == std::string("'") + bad + "' is not a number");
  }
}

}  // namespace
}  // namespace lmesh::config
