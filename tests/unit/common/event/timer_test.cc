// Timer (src/common/event/timer.h): one-shot, re-armable, and silent once disarmed or gone.
#include "common/event/timer.h"

#include <uv.h>

#include <chrono>
#include <memory>

#include <catch2/catch.hpp>

namespace lmesh::event {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A loop for one test case; the destructor checks that every handle was closed.
struct Loop {
  Loop() { REQUIRE(uv_loop_init(&loop) == 0); }
  void run() { uv_run(&loop, UV_RUN_DEFAULT); }
  void close() { REQUIRE(uv_loop_close(&loop) == 0); }
  uv_loop_t loop;
};

TEST_CASE("Timer fires once, after its delay", "[event][timer]") {
  Loop l;
  {
    int fired = 0;
    Timer t(&l.loop, [&] { ++fired; });
    CHECK(!t.armed());
    auto start = Clock::now();
    t.arm(20ms);
    CHECK(t.armed());
    CHECK(fired == 0);  // never from inside arm()
    l.run();
    CHECK(fired == 1);
    CHECK(Clock::now() - start >= 15ms);  // libuv counts on a cached millisecond clock
    CHECK(!t.armed());
  }
  l.run();
  l.close();
}

TEST_CASE("Timer::arm(0) fires on the next loop turn", "[event][timer]") {
  Loop l;
  {
    int fired = 0;
    Timer t(&l.loop, [&] { ++fired; });
    t.arm(0ms);
    CHECK(fired == 0);
    l.run();
    CHECK(fired == 1);
  }
  l.run();
  l.close();
}

TEST_CASE("Timer::disarm stops a pending timer", "[event][timer]") {
  Loop l;
  {
    int fired = 0;
    int sentinel = 0;
    Timer t(&l.loop, [&] { ++fired; });
    Timer later(&l.loop, [&] { ++sentinel; });
    t.arm(10ms);
    later.arm(50ms);  // keeps the loop running past the disarmed deadline
    t.disarm();
    CHECK(!t.armed());
    t.disarm();  // disarming twice is harmless
    l.run();
    CHECK(fired == 0);
    CHECK(sentinel == 1);
  }
  l.run();
  l.close();
}

TEST_CASE("Timer re-armed before it fires keeps only the new deadline", "[event][timer]") {
  Loop l;
  {
    int fired = 0;
    Timer t(&l.loop, [&] { ++fired; });
    auto start = Clock::now();
    t.arm(10s);
    t.arm(10ms);  // replaces the 10 s deadline
    l.run();
    CHECK(fired == 1);
    CHECK(Clock::now() - start < 5s);

    // Pushing a deadline out: re-arming later delays the timer.
    start = Clock::now();
    t.arm(5ms);
    t.arm(40ms);
    l.run();
    CHECK(fired == 2);
    CHECK(Clock::now() - start >= 35ms);
  }
  l.run();
  l.close();
}

TEST_CASE("Timer may re-arm or disarm itself from its own callback", "[event][timer]") {
  Loop l;
  {
    int fired = 0;
    std::unique_ptr<Timer> t;
    t = std::make_unique<Timer>(&l.loop, [&] {
      ++fired;
      if (fired < 3) t->arm(1ms);
    });
    t->arm(1ms);
    l.run();
    CHECK(fired == 3);
    CHECK(!t->armed());
  }
  l.run();
  l.close();
}

TEST_CASE("Timer may be destroyed from another timer's callback", "[event][timer]") {
  Loop l;
  {
    int fired = 0;
    auto victim = std::make_unique<Timer>(&l.loop, [&] { ++fired; });
    Timer killer(&l.loop, [&] { victim.reset(); });
    victim->arm(30ms);
    killer.arm(1ms);
    l.run();
    CHECK(fired == 0);
    CHECK(victim == nullptr);
  }
  l.run();
  l.close();
}

TEST_CASE("a destroyed Timer never fires and leaves no handle behind", "[event][timer]") {
  Loop l;
  int fired = 0;
  {
    Timer t(&l.loop, [&] { ++fired; });
    t.arm(0ms);
  }
  l.run();
  CHECK(fired == 0);
  l.close();
}

}  // namespace
}  // namespace lmesh::event
