// A TCP connection on one worker loop: pooled reads, a write queue with watermarks,
// half-close, and the three close modes (STYLE.md §6).
//
// Reads land in pooled chunks and reach the Handler as Slices, so an idle connection holds no
// buffer. Writes are queued and flushed once per loop turn, after all of the turn's I/O
// events (event::BatchEndTask): the flush tries the socket directly (uv_try_write: no request
// object) and hands libuv only what the kernel did not take. The queue's size drives the
// watermark callbacks that pause the peer feeding this connection (backpressure).
//
// Lifetime: the owner calls close() and waits for Handler::on_closed() before freeing the
// TcpConnection (a flushing close outlives the call). Handler callbacks come from libuv
// callbacks, never from inside a method the owner called, with one exception:
// on_high_watermark() is raised by the write() that crossed the mark.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "common/buffer/buffer.h"
#include "common/event/uv_handle.h"
#include "common/event/worker.h"
#include "common/metrics/counter.h"
#include "common/net/socket_address.h"
#include "common/net/transport_layer.h"
#include "common/result.h"

namespace lmesh::net {

enum class CloseMode {
  kFlush,    // write what is queued, then close (FIN)
  kNoFlush,  // close now; queued bytes are dropped
  kAbort,    // close now with a RST, so the peer sees the failure
};

struct WatermarkLimits {
  size_t high = 256 * 1024;  // above this many queued bytes, on_high_watermark()
  size_t low = 64 * 1024;    // back at or below this, on_low_watermark()
};

class TcpConnection final : private event::BatchEndTask {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Bytes arrived; keeping the slice keeps its chunk alive.
    virtual void on_read(buffer::Slice data) = 0;
    // The peer sent FIN. This side can still write.
    virtual void on_eof() = 0;
    // Connect, read or write failed; the connection is unusable and the owner should close it.
    virtual void on_error(const Error& error) = 0;
    // The connection is ready for the handler's bytes: connected, and with a transport layer
    // (TLS), its handshake done. An accepted connection with a layer gets it too.
    virtual void on_connected() {}
    virtual void on_high_watermark() {}
    virtual void on_low_watermark() {}
    // close() has finished: the socket is gone and the owner may free the connection.
    virtual void on_closed() = 0;
  };

  TcpConnection(event::Worker& worker, Handler& handler, WatermarkLimits limits = {});
  // Closes without flushing if the owner never did; on_closed() is then not called.
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  void set_handler(Handler& handler) { handler_ = &handler; }
  event::Worker& worker() const { return worker_; }

  // Takes the next pending connection from a listening socket.
  Result<void> accept(uv_stream_t* server);
  // Starts connecting; the outcome arrives as on_connected() or on_error(). Bytes written
  // before the connection is up are queued and sent once it is. With `source` (an IP; its port
  // is ignored) the connection comes from that address, its port still picked at connect time.
  Result<void> connect(const SocketAddress& address,
                       const std::optional<SocketAddress>& source = std::nullopt);

  // From now on the handler reads and writes plaintext through `layer` (TLS). A client sets it
  // before connect(): on_connected() then waits for the handshake. A server sets it on an
  // accepted connection, handing over what detection already read (`received`, a complete
  // first flight). An error from that first step leaves the connection as it was, without
  // the layer and with nothing sent, so the caller may still relay the bytes untouched.
  Result<void> set_transport_layer(std::unique_ptr<TransportLayer> layer,
                                   std::string_view received = {});
  TransportLayer* transport_layer() const { return layer_.get(); }

  void read_start();
  void read_stop();
  bool reading() const { return reading_; }

  // Queues every byte of `data` (which ends empty). Queued bytes are written when the current
  // loop turn has handled all its I/O events (see event::BatchEndTask).
  void write(buffer::Buffer& data);
  void write(buffer::Slice data);
  void write(std::string_view bytes);  // copies

  // Half-close: send FIN once queued bytes are written. Reading continues.
  void shutdown_write();
  void close(CloseMode mode);

  bool closing() const { return state_ != State::kOpen; }
  bool connected() const { return connected_; }
  size_t write_queue_bytes() const { return queued_bytes_ + in_flight_bytes_ + plain_out_.size(); }
  bool above_high_watermark() const { return above_high_; }
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t bytes_written() const { return bytes_written_; }
  // Counts bytes into these as they move (tcp_read_bytes_total, tcp_write_bytes_total), not
  // at close, so long-lived connections show up in every scrape. Bytes moved before the call
  // are added at once.
  void set_byte_counters(metrics::Counter* read, metrics::Counter* written);

  SocketAddress local_address() const;
  SocketAddress peer_address() const;
  // The peer as it was when the connection was set up: still known after a reset, for logs.
  const SocketAddress& peer() const { return peer_; }
  // The pre-NAT destination of a connection redirected by iptables (SO_ORIGINAL_DST).
  Result<SocketAddress> original_destination() const;
  int fd() const;

 private:
  enum class State { kOpen, kFlushing, kClosing, kClosed };
  struct WriteRequest;

  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  // Opens the socket bound to `source` (any port) before connect().
  Result<void> bind_source(const SocketAddress& source);
  static void on_connect_cb(uv_connect_t* req, int status);
  static void on_write_cb(uv_write_t* req, int status);
  static void on_shutdown_cb(uv_shutdown_t* req, int status);
  static void on_handle_closed(void* self);

  bool accepting_writes() const;
  void after_queueing();
  void on_batch_end() override;
  void on_layer_read(buffer::Slice wire);
  void account_queued(size_t before);
  void seal_plaintext();
  void flush();
  void after_drained();
  void account_written(size_t n);
  void start_write_request();
  void send_shutdown();
  void finish_close(CloseMode mode);

  event::Worker& worker_;
  Handler* handler_;
  WatermarkLimits limits_;
  event::UvHandle<uv_tcp_t> tcp_;
  State state_ = State::kOpen;
  bool connected_ = false;
  bool reading_ = false;
  bool above_high_ = false;
  bool write_in_flight_ = false;
  bool shutdown_wanted_ = false;
  bool shutdown_sent_ = false;
  buffer::Buffer queued_;  // bytes not yet written nor handed to a uv_write
  std::unique_ptr<TransportLayer> layer_;
  buffer::Buffer plain_out_;  // with a layer: the handler's bytes, not yet sealed
  bool close_notify_queued_ = false;
  bool layer_eof_delivered_ = false;
  size_t queued_bytes_ = 0;
  size_t in_flight_bytes_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t bytes_written_ = 0;
  SocketAddress peer_;
  metrics::Counter* read_counter_ = nullptr;
  metrics::Counter* write_counter_ = nullptr;
};

}  // namespace lmesh::net
