// The merge of several proxies' streams: ts_us order within the hold, no event held much past
// it, bounded memory; and the tap-wide max_rps.
#include <catch2/catch.hpp>

#include "tap/event_merger.h"
#include "tap/tap_admission.h"

namespace lmesh::tap {
namespace {

using Clock = EventMerger::Clock;
using std::chrono::milliseconds;

const Clock::time_point t0{};

TEST_CASE("events arriving out of order within the hold go out in ts_us order") {
  EventMerger m;
  m.push(300, "c", t0);
  m.push(100, "a", t0 + milliseconds(10));
  m.push(200, "b", t0 + milliseconds(50));
  CHECK(m.release(t0 + milliseconds(99)).empty());
  // The first arrival's hold has passed: it and everything stamped before it go out.
  CHECK(m.release(t0 + milliseconds(100)) == std::vector<std::string>{"a", "b", "c"});
  CHECK(m.held() == 0);
  CHECK(m.held_bytes() == 0);
}

TEST_CASE("an earlier-stamped event arriving within a later one's hold goes out before it") {
  EventMerger m;
  m.push(100, "a", t0);
  m.push(500, "e", t0 + milliseconds(60));
  CHECK(m.release(t0 + milliseconds(100)) == std::vector<std::string>{"a"});
  m.push(400, "d", t0 + milliseconds(120));  // earlier than e, arrived within e's hold
  CHECK(m.release(t0 + milliseconds(159)).empty());
  CHECK(m.release(t0 + milliseconds(160)) == std::vector<std::string>{"d", "e"});
}

TEST_CASE("equal timestamps keep their arrival order; a late event still goes out") {
  EventMerger m;
  m.push(100, "x1", t0);
  m.push(100, "x2", t0);
  CHECK(m.release(t0 + milliseconds(100)) == std::vector<std::string>{"x1", "x2"});
  m.push(50, "late", t0 + milliseconds(200));  // older than what already went out
  CHECK(m.release(t0 + milliseconds(300)) == std::vector<std::string>{"late"});
}

TEST_CASE("past its bounds the merger releases the earliest events early, dropping none") {
  EventMerger m(MergerLimits{milliseconds(100), 3, 1 << 20});
  for (int i = 5; i >= 1; --i) m.push(i, std::to_string(i), t0);
  CHECK(m.release(t0) == std::vector<std::string>{"1", "2"});
  CHECK(m.held() == 3);
  CHECK(m.release(t0 + milliseconds(100)) == std::vector<std::string>{"3", "4", "5"});

  EventMerger by_bytes(MergerLimits{milliseconds(100), 100, 10});
  by_bytes.push(2, "bbbbbb", t0);
  by_bytes.push(1, "aaaaaa", t0);
  CHECK(by_bytes.release(t0) == std::vector<std::string>{"aaaaaa"});
  CHECK(by_bytes.held_bytes() == 6);
}

TEST_CASE("a flood keeps the arrival bookkeeping bounded") {
  EventMerger m(MergerLimits{milliseconds(100), 10, 1 << 20});
  std::vector<std::string> out;
  for (int i = 0; i < 10'000; ++i) {
    m.push(10'000 - i, "e", t0);
    if (i % 5 == 0) {
      auto r = m.release(t0);
      out.insert(out.end(), r.begin(), r.end());
    }
  }
  auto rest = m.release(t0 + milliseconds(100));
  CHECK(out.size() + rest.size() == 10'000);
  CHECK(m.held() == 0);
}

TEST_CASE("drain gives everything held in order") {
  EventMerger m;
  m.push(2, "b", t0);
  m.push(1, "a", t0);
  CHECK(m.drain() == std::vector<std::string>{"a", "b"});
  CHECK(m.held() == 0);
}

TEST_CASE("the tap-wide rate admits a second's burst, then max_rps, and drops whole requests") {
  TapAdmission a(2, t0);
  CHECK(a.admit(0, "request_init", "1:1", t0));
  CHECK(a.admit(1, "request_init", "1:1", t0));
  CHECK_FALSE(a.admit(0, "request_init", "1:2", t0));
  // The refused request's other events go too, and only that proxy's.
  CHECK_FALSE(a.admit(0, "response_init", "1:2", t0));
  CHECK(a.admit(1, "response_init", "1:2", t0));
  CHECK_FALSE(a.admit(0, "response_end", "1:2", t0));
  CHECK(a.admit(0, "response_init", "1:1", t0));
  CHECK(a.admit(0, "dropped", "", t0));
  CHECK(a.take_dropped() == 1);
  CHECK(a.take_dropped() == 0);
  // Half a second refills one token at 2 per second.
  CHECK(a.admit(0, "request_init", "1:3", t0 + milliseconds(500)));
  CHECK_FALSE(a.admit(0, "request_init", "1:4", t0 + milliseconds(500)));
}

}  // namespace
}  // namespace lmesh::tap
