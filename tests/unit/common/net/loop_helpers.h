// Helpers for net tests that drive a Worker's loop on the test thread: real loopback sockets,
// one loop, no threads. Every test ends with stop_and_close(), which fails if a handle leaked
// and ends with Worker::run() (uv_loop_close() == 0).
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "common/buffer/slice.h"
#include "common/event/worker.h"
#include "common/net/listener.h"
#include "common/net/tcp_connection.h"
#include "common/result.h"

namespace lmesh::net::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Turns the loop until `done()` holds or `limit` has passed; returns done().
inline bool run_until(event::Worker& w, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = 10s) {
  auto deadline = Clock::now() + limit;
  // A ticking timer bounds each turn, so the deadline is noticed even when nothing happens.
  uv_timer_t tick;
  uv_timer_init(w.loop(), &tick);
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 5, 5);
  while (!done() && Clock::now() < deadline) uv_run(w.loop(), UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(w.loop(), UV_RUN_NOWAIT);  // completes the close
  return done();
}

// Turns the loop for `d`, for checking that something does not happen.
inline void run_for(event::Worker& w, std::chrono::milliseconds d) {
  run_until(
      w, [] { return false; }, d);
}

// The handles still open on the worker's loop, other than the Worker's own (whose data points
// at the Worker: the post() queue's async and the deferred-deletion idle handle).
inline size_t open_handles(event::Worker& w) {
  struct Count {
    event::Worker* worker;
    size_t open;
  } count{&w, 0};
  uv_walk(
      w.loop(),
      [](uv_handle_t* h, void* arg) {
        auto* c = static_cast<Count*>(arg);
        if (uv_is_closing(h) == 0 && h->data != c->worker) ++c->open;
      },
      &count);
  return count.open;
}

// Stops the worker, lets the loop finish every close, checks that the test left no handle
// open, then lets Worker::run() free what is deferred and close the loop (it asserts
// uv_loop_close() == 0 in builds with assertions).
inline void stop_and_close(event::Worker& w) {
  w.stop();
  auto deadline = Clock::now() + 5s;
  while (uv_loop_alive(w.loop()) != 0 && Clock::now() < deadline) {
    uv_run(w.loop(), UV_RUN_NOWAIT);
    std::this_thread::sleep_for(1ms);
  }
  size_t left = open_handles(w);
  if (left != 0) uv_print_all_handles(w.loop(), stderr);
  REQUIRE(left == 0);
  w.run();
}

// Records everything a TcpConnection tells its owner.
struct Recorder : TcpConnection::Handler {
  void on_read(buffer::Slice data) override {
    received.append(data.view());
    if (keep_slices) kept.push_back(std::move(data));
  }
  void on_eof() override {
    eof = true;
    received_at_eof = received.size();
  }
  void on_error(const Error& e) override { error = e; }
  void on_connected() override { connected = true; }
  void on_high_watermark() override { ++high; }
  void on_low_watermark() override { ++low; }
  void on_closed() override { ++closed; }

  std::string received;
  size_t received_at_eof = 0;
  bool keep_slices = false;
  std::vector<buffer::Slice> kept;
  bool eof = false;
  bool connected = false;
  std::optional<Error> error;
  int high = 0;
  int low = 0;
  int closed = 0;
};

// A listener on 127.0.0.1:<free port>, a client connected to it and the server side accepted.
struct ConnectedPair {
  explicit ConnectedPair(event::Worker& w, WatermarkLimits client_limits = {},
                         WatermarkLimits server_limits = {})
      : worker(w),
        listener(w.loop(),
                 [this, server_limits](uv_stream_t* s) {
                   server = std::make_unique<TcpConnection>(worker, server_h, server_limits);
                   accept_result = server->accept(s);
                 }),
        client(std::make_unique<TcpConnection>(w, client_h, client_limits)) {
    auto listening = listener.listen(*SocketAddress::parse("127.0.0.1:0"), false);
    REQUIRE(listening.has_value());
    auto connecting = client->connect(listener.local_address());
    REQUIRE(connecting.has_value());
    REQUIRE(run_until(w, [this] { return client_h.connected && server != nullptr; }));
    REQUIRE(accept_result.has_value());
  }

  // Closes whatever is still open (without flushing) and the listener, and waits for it.
  void close_all() {
    if (client && client_h.closed == 0) client->close(CloseMode::kNoFlush);
    if (server && server_h.closed == 0) server->close(CloseMode::kNoFlush);
    listener.close();
    REQUIRE(run_until(worker, [this] {
      return (!client || client_h.closed == 1) && (!server || server_h.closed == 1);
    }));
    kept_clear();
  }
  void kept_clear() {
    client_h.kept.clear();
    server_h.kept.clear();
  }

  event::Worker& worker;
  Recorder client_h;
  Recorder server_h;
  Listener listener;
  std::unique_ptr<TcpConnection> server;
  Result<void> accept_result;
  std::unique_ptr<TcpConnection> client;
};

// `n` bytes of a repeating pattern, so that reordering or loss would show.
inline std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('A' + (i * 7 + i / 251) % 26);
  return s;
}

// A free port on 127.0.0.1 that nothing listens on (bound, read back, closed again).
inline uint16_t closed_port(event::Worker& w) {
  Listener l(w.loop(), [](uv_stream_t*) {});
  REQUIRE(l.listen(*SocketAddress::parse("127.0.0.1:0"), false).has_value());
  uint16_t port = l.local_address().port();
  l.close();
  run_for(w, 1ms);
  return port;
}

}  // namespace lmesh::net::testing
