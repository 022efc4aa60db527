// Ownership of one libuv handle (STYLE.md §3).
//
// libuv handles must not move and may be freed only in or after their close callback. A
// UvHandle allocates the handle once, never moves it, and on close() clears `data` (so late
// callbacks, such as cancelled writes, find no owner), calls uv_close and frees the memory in
// the close callback. An owner that must know when the handle is fully gone (to free itself
// afterwards) passes a notification to close().
#pragma once

#include <uv.h>

#include <type_traits>
#include <utility>

namespace lmesh::event {

template <class T>
class UvHandle {
 public:
  using ClosedFn = void (*)(void* context);

  UvHandle() : box_(new Box{}) {}
  ~UvHandle() { close(); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  UvHandle(UvHandle&&) = delete;
  UvHandle& operator=(UvHandle&&) = delete;

  // Runs `init(loop, handle, args...)` (e.g. uv_tcp_init) and remembers that the handle now
  // belongs to the loop and must be closed, not just freed.
  template <class InitFn, class... Args>
  int init(InitFn init_fn, uv_loop_t* loop, Args&&... args) {
    int rc = init_fn(loop, &box_->handle, std::forward<Args>(args)...);
    if (rc == 0) initialized_ = true;
    return rc;
  }

  T* get() const { return box_ == nullptr ? nullptr : &box_->handle; }
  uv_handle_t* handle() const { return reinterpret_cast<uv_handle_t*>(get()); }
  uv_stream_t* stream() const { return reinterpret_cast<uv_stream_t*>(get()); }
  bool open() const { return box_ != nullptr; }
  bool initialized() const { return initialized_; }

  // Closes the handle. `on_closed(context)` runs from the close callback, after which the
  // handle's memory is gone. Safe to call more than once; later calls do nothing.
  void close(ClosedFn on_closed = nullptr, void* context = nullptr) {
    Box* box = std::exchange(box_, nullptr);
    if (box == nullptr) return;
    if (!initialized_) {
      delete box;
      if (on_closed != nullptr) on_closed(context);
      return;
    }
    box->handle.data = nullptr;
    box->on_closed = on_closed;
    box->context = context;
    uv_close(reinterpret_cast<uv_handle_t*>(&box->handle), &UvHandle::on_close);
  }

  // For TCP handles: close with a RST instead of a FIN (CloseMode::kAbort).
  void close_reset(ClosedFn on_closed = nullptr,
                   void* context = nullptr) requires std::is_same_v<T, uv_tcp_t> {
    Box* box = box_;
    if (box == nullptr || !initialized_) return close(on_closed, context);
    box_ = nullptr;
    box->handle.data = nullptr;
    box->on_closed = on_closed;
    box->context = context;
    if (uv_tcp_close_reset(&box->handle, &UvHandle::on_close) != 0) {
      // Already shutting down: RST is no longer possible, a plain close still frees it.
      uv_close(reinterpret_cast<uv_handle_t*>(&box->handle), &UvHandle::on_close);
    }
  }

 private:
  // `handle` comes first so that a uv_handle_t* is also a Box*.
  struct Box {
    T handle;
    ClosedFn on_closed = nullptr;
    void* context = nullptr;
  };

  static void on_close(uv_handle_t* h) {
    Box* box = reinterpret_cast<Box*>(h);
    ClosedFn fn = box->on_closed;
    void* ctx = box->context;
    delete box;
    if (fn != nullptr) fn(ctx);
  }

  Box* box_;
  bool initialized_ = false;
};

}  // namespace lmesh::event
