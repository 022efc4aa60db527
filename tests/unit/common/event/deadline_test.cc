// Deadline (src/common/event/deadline.h): a deadline that moves on every request without
// touching the libuv timer unless it moves earlier, and fires exactly when it is due.
#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>

#include "common/event/deadline.h"

namespace lmesh::event {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Loop {
  Loop() { REQUIRE(uv_loop_init(&loop) == 0); }
  void run() { uv_run(&loop, UV_RUN_DEFAULT); }
  void close() { REQUIRE(uv_loop_close(&loop) == 0); }
  uv_loop_t loop;
};

TEST_CASE("Deadline fires once when due", "[event][deadline]") {
  Loop l;
  {
    int fired = 0;
    Deadline d(&l.loop, [&] { ++fired; });
    CHECK(!d.pending());
    auto start = Clock::now();
    d.set(20ms);
    CHECK(d.pending());
    CHECK(fired == 0);
    l.run();
    CHECK(fired == 1);
    CHECK(!d.pending());
    CHECK(Clock::now() - start >= 15ms);
  }
  l.run();
  l.close();
}

TEST_CASE("Deadline moved later fires at the later time, once", "[event][deadline]") {
  Loop l;
  {
    int fired = 0;
    Clock::time_point fired_at;
    Deadline d(&l.loop, [&] {
      ++fired;
      fired_at = Clock::now();
    });
    auto start = Clock::now();
    d.set(10ms);
    d.set(60ms);  // the timer stays armed for 10 ms and re-arms itself for the rest
    l.run();
    CHECK(fired == 1);
    CHECK(fired_at - start >= 50ms);
  }
  l.run();
  l.close();
}

TEST_CASE("Deadline moved earlier fires at the earlier time", "[event][deadline]") {
  Loop l;
  {
    int fired = 0;
    Deadline d(&l.loop, [&] { ++fired; });
    auto start = Clock::now();
    d.set(10s);
    d.set(10ms);
    l.run();
    CHECK(fired == 1);
    CHECK(Clock::now() - start < 5s);
  }
  l.run();
  l.close();
}

TEST_CASE("Deadline cleared, or set to zero, does not fire", "[event][deadline]") {
  Loop l;
  {
    int fired = 0;
    Deadline d(&l.loop, [&] { ++fired; });
    SECTION("clear()") {
      d.set(10ms);
      d.clear();
      CHECK(!d.pending());
    }
    SECTION("set(0) disables") {
      d.set(10ms);
      d.set(0ms);
      CHECK(!d.pending());
    }
    SECTION("set(negative) disables") {
      d.set(-5ms);
      CHECK(!d.pending());
    }
    l.run();  // the armed timer still fires, finds nothing due and stops
    CHECK(fired == 0);
  }
  l.run();
  l.close();
}

TEST_CASE("Deadline set again after clear() fires at the new time", "[event][deadline]") {
  Loop l;
  {
    int fired = 0;
    Deadline d(&l.loop, [&] { ++fired; });
    auto start = Clock::now();
    d.set(10ms);
    d.clear();
    d.set(40ms);
    l.run();
    CHECK(fired == 1);
    CHECK(Clock::now() - start >= 35ms);
  }
  l.run();
  l.close();
}

TEST_CASE("Deadline may be set again from its own callback", "[event][deadline]") {
  Loop l;
  {
    int fired = 0;
    std::unique_ptr<Deadline> d;
    d = std::make_unique<Deadline>(&l.loop, [&] {
      if (++fired < 3) d->set(1ms);
    });
    d->set(1ms);
    l.run();
    CHECK(fired == 3);
    CHECK(!d->pending());
  }
  l.run();
  l.close();
}

TEST_CASE("a destroyed Deadline never fires and leaves no handle behind", "[event][deadline]") {
  Loop l;
  int fired = 0;
  {
    Deadline d(&l.loop, [&] { ++fired; });
    d.set(1ms);
  }
  l.run();
  CHECK(fired == 0);
  l.close();
}

}  // namespace
}  // namespace lmesh::event
