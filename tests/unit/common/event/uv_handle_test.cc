// UvHandle<T> (src/common/event/uv_handle.h): a handle that never moves, is closed once, and
// is freed in its close callback, after which the owner's notification runs.
#include "common/event/uv_handle.h"

#include <uv.h>

#include <catch2/catch.hpp>

namespace lmesh::event {
namespace {

void count_call(void* counter) {
  ++*static_cast<int*>(counter);
}

TEST_CASE("UvHandle::close frees in the close callback, then notifies", "[event][uv_handle]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  int notified = 0;
  {
    UvHandle<uv_timer_t> h;
    CHECK(h.open());
    CHECK(!h.initialized());
    REQUIRE(h.init(uv_timer_init, &loop) == 0);
    CHECK(h.initialized());
    CHECK(h.handle()->loop == &loop);
    CHECK(h.handle()->type == UV_TIMER);
    CHECK(reinterpret_cast<void*>(h.get()) == reinterpret_cast<void*>(h.handle()));

    h.get()->data = &notified;
    h.close(&count_call, &notified);
    CHECK(notified == 0);  // uv_close is asynchronous: nothing happens until the loop turns
    CHECK(!h.open());
    CHECK(h.get() == nullptr);
    CHECK(h.handle() == nullptr);

    h.close(&count_call, &notified);  // a second close does nothing
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(notified == 1);
  }
  CHECK(notified == 1);  // the destructor does not close again
  REQUIRE(uv_loop_close(&loop) == 0);
}

TEST_CASE("UvHandle's destructor closes an open handle", "[event][uv_handle]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  bool fired = false;
  {
    UvHandle<uv_timer_t> h;
    REQUIRE(h.init(uv_timer_init, &loop) == 0);
    h.get()->data = &fired;
    uv_timer_start(
        h.get(), [](uv_timer_t* t) { *static_cast<bool*>(t->data) = true; }, 0, 0);
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // processes the close; the stopped timer never fires
  CHECK(!fired);
  REQUIRE(uv_loop_close(&loop) == 0);
}

TEST_CASE("UvHandle that was never initialized closes at once", "[event][uv_handle]") {
  int notified = 0;
  UvHandle<uv_tcp_t> h;
  h.close(&count_call, &notified);
  CHECK(notified == 1);  // no loop to wait for
  CHECK(!h.open());
  h.close(&count_call, &notified);
  CHECK(notified == 1);

  UvHandle<uv_tcp_t> reset;
  reset.close_reset(&count_call, &notified);
  CHECK(notified == 2);
}

TEST_CASE("UvHandle whose init failed is freed without the loop", "[event][uv_handle]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  int notified = 0;
  {
    UvHandle<uv_tcp_t> h;
    // Unknown flags: uv_tcp_init_ex refuses them and the handle never joins the loop.
    CHECK(h.init(uv_tcp_init_ex, &loop, 0xffffu) == UV_EINVAL);
    CHECK(!h.initialized());
    h.close(&count_call, &notified);
    CHECK(notified == 1);
  }
  REQUIRE(uv_loop_close(&loop) == 0);
}

TEST_CASE("UvHandle::close_reset on a TCP handle without a socket falls back to close",
          "[event][uv_handle]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  int notified = 0;
  {
    UvHandle<uv_tcp_t> h;
    REQUIRE(h.init(uv_tcp_init, &loop) == 0);
    h.close_reset(&count_call, &notified);  // no fd: SO_LINGER fails, uv_close still runs
    CHECK(notified == 0);
    CHECK(!h.open());
    h.close_reset(&count_call, &notified);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(notified == 1);
  }
  REQUIRE(uv_loop_close(&loop) == 0);
}

TEST_CASE("UvHandle works for the handle types the code base uses", "[event][uv_handle]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  int notified = 0;
  {
    UvHandle<uv_async_t> async;
    REQUIRE(async.init(uv_async_init, &loop, [](uv_async_t*) {}) == 0);
    UvHandle<uv_check_t> check;
    REQUIRE(check.init(uv_check_init, &loop) == 0);
    UvHandle<uv_idle_t> idle;
    REQUIRE(idle.init(uv_idle_init, &loop) == 0);
    UvHandle<uv_tcp_t> tcp;
    REQUIRE(tcp.init(uv_tcp_init, &loop) == 0);
    async.close(&count_call, &notified);
    check.close(&count_call, &notified);
    idle.close(&count_call, &notified);
    tcp.close(&count_call, &notified);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(notified == 4);
  }
  REQUIRE(uv_loop_close(&loop) == 0);
}

}  // namespace
}  // namespace lmesh::event
