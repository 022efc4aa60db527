// DeadlineQueue (src/common/event/deadline_queue.h): many same-length deadlines on one timer.
#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/event/deadline_queue.h"

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

struct Probe final : DeadlineQueue::Entry {
  Probe(std::string name, std::vector<std::string>& log) : name(std::move(name)), log(log) {}
  void expire() override {
    log.push_back(name);
    if (then) then();
  }
  std::string name;
  std::vector<std::string>& log;
  std::function<void()> then;
};

// Runs `fn` on the loop after `after`.
void at(uv_loop_t* loop, std::chrono::milliseconds after, std::function<void()> fn) {
  auto* t = new uv_timer_t;
  uv_timer_init(loop, t);
  t->data = new std::function<void()>(std::move(fn));
  uv_timer_start(
      t,
      [](uv_timer_t* h) {
        auto* f = static_cast<std::function<void()>*>(h->data);
        (*f)();
        delete f;
        uv_close(reinterpret_cast<uv_handle_t*>(h),
                 [](uv_handle_t* c) { delete reinterpret_cast<uv_timer_t*>(c); });
      },
      static_cast<uint64_t>(after.count()), 0);
}

TEST_CASE("entries expire in the order they were added, each its length after", "[event]") {
  Loop l;
  std::vector<std::string> log;
  {
    DeadlineQueue q(&l.loop, 40ms);
    Probe a("a", log), b("b", log), c("c", log);
    auto start = Clock::now();
    Clock::time_point a_at{}, c_at{};
    a.then = [&] { a_at = Clock::now(); };
    c.then = [&] { c_at = Clock::now(); };
    q.add(a);
    at(&l.loop, 20ms, [&] {
      q.add(b);
      q.add(c);
    });
    l.run();
    CHECK(log == std::vector<std::string>{"a", "b", "c"});
    CHECK(a_at - start >= 35ms);
    CHECK(c_at - start >= 55ms);  // 20 ms + 40 ms, not at a's time
    CHECK_FALSE(a.pending());
  }
  l.run();
  l.close();
}

TEST_CASE("cancelled, re-added and destroyed entries", "[event]") {
  Loop l;
  std::vector<std::string> log;
  {
    DeadlineQueue q(&l.loop, 30ms);
    Probe a("a", log), b("b", log);
    auto gone = std::make_unique<Probe>("gone", log);
    q.add(a);
    q.add(b);
    q.add(*gone);
    gone.reset();  // unlinks itself
    b.cancel();
    CHECK_FALSE(b.pending());
    at(&l.loop, 15ms, [&] { q.add(a); });  // moves a to the back, 30 ms from now
    at(&l.loop, 35ms, [&] { CHECK(log.empty()); });
    l.run();
    CHECK(log == std::vector<std::string>{"a"});
  }
  l.run();
  l.close();
}

TEST_CASE("an expiring entry may remove or re-add others", "[event]") {
  Loop l;
  std::vector<std::string> log;
  {
    DeadlineQueue q(&l.loop, 10ms);
    Probe a("a", log), b("b", log), c("c", log);
    a.then = [&] {
      b.cancel();
      if (log.size() == 1) q.add(a);  // once more
    };
    q.add(a);
    q.add(b);
    q.add(c);
    l.run();
    CHECK(log == std::vector<std::string>{"a", "c", "a"});
  }
  l.run();
  l.close();
}

TEST_CASE("a zero length disables the queue", "[event]") {
  Loop l;
  std::vector<std::string> log;
  {
    DeadlineQueue q(&l.loop, 0ms);
    Probe a("a", log);
    q.add(a);
    CHECK_FALSE(a.pending());
    l.run();
    CHECK(log.empty());
  }
  l.run();
  l.close();
}

}  // namespace
}  // namespace lmesh::event
