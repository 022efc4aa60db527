#include "common/net/tcp_connection.h"

// <netinet/in.h> must come before <linux/netfilter_ipv4.h> (DEPS.md).
#include <netinet/in.h>

#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <utility>

namespace lmesh::net {

struct TcpConnection::WriteRequest {
  explicit WriteRequest(buffer::ChunkPool& pool) : bytes(pool) {}
  uv_write_t req;
  buffer::Buffer bytes;  // keeps the chunks alive until the kernel has the bytes
};

namespace {
// Enough for a response head plus a body made of many chunks; more waits for the next write.
constexpr size_t kMaxIovecs = 64;
}  // namespace

TcpConnection::TcpConnection(event::Worker& worker, Handler& handler, WatermarkLimits limits)
    : worker_(worker),
      handler_(&handler),
      limits_(limits),
      queued_(worker.chunks()),
      plain_out_(worker.chunks()) {
  [[maybe_unused]] int rc = tcp_.init(uv_tcp_init, worker.loop());
  assert(rc == 0);
  tcp_.get()->data = this;
}

TcpConnection::~TcpConnection() {
  // An owner that frees us mid-close must have waited for on_closed(); otherwise the close
  // callback would reach a freed object.
  assert(state_ == State::kOpen || state_ == State::kClosed || state_ == State::kFlushing);
  if (state_ != State::kClosed) tcp_.close();
}

Result<void> TcpConnection::accept(uv_stream_t* server) {
  int rc = uv_accept(server, tcp_.stream());
  if (rc != 0) return fail(Error::from_uv(rc, "accept"));
  connected_ = true;
  peer_ = peer_address();
  uv_tcp_nodelay(tcp_.get(), 1);
  return {};
}

Result<void> TcpConnection::connect(const SocketAddress& address,
                                    const std::optional<SocketAddress>& source) {
  if (source) {
    if (auto bound = bind_source(*source); !bound) return fail(bound.error());
  }
  auto* req = new uv_connect_t;
  int rc = uv_tcp_connect(req, tcp_.get(), address.sockaddr_ptr(), &TcpConnection::on_connect_cb);
  if (rc != 0) {
    delete req;
    return fail(Error::from_uv(rc, "connect to " + address.to_string()));
  }
  return {};
}

Result<void> TcpConnection::bind_source(const SocketAddress& source) {
  SocketAddress any_port = source;
  any_port.set_port(0);
  int fd = ::socket(source.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(Error::from_uv(-errno, "socket"));
  // The port is chosen at connect(), by the 4-tuple: bind() alone would reserve a port per
  // connection and cap them at the ephemeral range (Envoy binds its source addresses so too).
  int on = 1;
  (void)::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
  if (::bind(fd, any_port.sockaddr_ptr(), any_port.length()) != 0) {
    int err = errno;
    ::close(fd);
    return fail(Error::from_uv(-err, "bind to source address " + source.ip()));
  }
  if (int rc = uv_tcp_open(tcp_.get(), fd); rc != 0) {
    ::close(fd);
    return fail(Error::from_uv(rc, "adopt the socket bound to " + source.ip()));
  }
  return {};
}

void TcpConnection::on_connect_cb(uv_connect_t* req, int status) {
  auto* self = static_cast<TcpConnection*>(req->handle->data);
  delete req;
  if (self == nullptr) return;  // closed while connecting (status is UV_ECANCELED)
  if (status < 0) {
    self->handler_->on_error(Error::from_uv(status, "connect"));
    return;
  }
  self->connected_ = true;
  self->peer_ = self->peer_address();
  uv_tcp_nodelay(self->tcp_.get(), 1);
  if (self->layer_ != nullptr) {
    // Connected means secured: on_connected() waits for the handshake (on_layer_read).
    size_t before = self->queued_.size();
    auto started = self->layer_->start(self->queued_);
    self->account_queued(before);
    if (!started) {
      self->handler_->on_error(started.error());
      return;
    }
    self->read_start();
    return;
  }
  self->handler_->on_connected();
}

Result<void> TcpConnection::set_transport_layer(std::unique_ptr<TransportLayer> layer,
                                                std::string_view received) {
  assert(layer_ == nullptr);
  if (received.empty()) {
    layer_ = std::move(layer);
    return {};
  }
  // A server's first step: nothing has been written to this socket yet, so on failure
  // dropping what the layer produced (an alert) leaves the connection untouched.
  assert(queued_.empty() && !write_in_flight_);
  buffer::Buffer plaintext(worker_.chunks());
  auto ok = layer->on_wire(received, plaintext, queued_);
  if (ok && !plaintext.empty()) {
    ok = fail(ErrorCode::kProtocol, "application data before the handshake finished");
  }
  if (!ok) {
    queued_.clear();
    return ok;
  }
  layer_ = std::move(layer);
  account_queued(0);
  return {};
}

void TcpConnection::account_queued(size_t before) {
  if (queued_.size() == before) return;
  queued_bytes_ += queued_.size() - before;
  after_queueing();
}

void TcpConnection::on_layer_read(buffer::Slice wire) {
  buffer::Buffer plaintext(worker_.chunks());
  bool was_established = layer_->established();
  size_t before = queued_.size();
  auto ok = layer_->on_wire(wire.view(), plaintext, queued_);
  wire = buffer::Slice();
  account_queued(before);
  if (!ok) {
    read_stop();
    handler_->on_error(ok.error());
    return;
  }
  if (!was_established && layer_->established()) {
    // What the handler wrote during the handshake can be sealed now.
    if (!plain_out_.empty()) worker_.at_batch_end(*this);
    handler_->on_connected();
  }
  // The handler may close, or hand the connection to another handler, between slices.
  for (size_t i = 0; i < plaintext.slice_count() && state_ == State::kOpen; ++i) {
    handler_->on_read(plaintext.slice(i).share());
  }
  if (layer_->peer_closed() && !layer_eof_delivered_ && state_ == State::kOpen) {
    layer_eof_delivered_ = true;
    read_stop();
    handler_->on_eof();
  }
}

void TcpConnection::read_start() {
  if (reading_ || state_ != State::kOpen) return;
  if (uv_read_start(tcp_.stream(), &TcpConnection::on_alloc, &TcpConnection::on_read_cb) == 0) {
    reading_ = true;
  }
}

void TcpConnection::read_stop() {
  if (!reading_) return;
  uv_read_stop(tcp_.stream());
  reading_ = false;
}

void TcpConnection::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<TcpConnection*>(h->data);
  buffer::Chunk* c = self->worker_.chunks().acquire();
  buf->base = c->data();
  buf->len = self->worker_.chunks().chunk_size();
}

void TcpConnection::on_read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  buffer::Chunk* chunk = buf->base != nullptr ? buffer::Chunk::from_data(buf->base) : nullptr;
  auto* self = static_cast<TcpConnection*>(s->data);
  if (nread > 0 && self != nullptr) {
    chunk->fill = static_cast<uint32_t>(nread);
    self->bytes_read_ += static_cast<uint64_t>(nread);
    if (self->read_counter_ != nullptr) self->read_counter_->inc(static_cast<uint64_t>(nread));
    if (self->layer_ != nullptr) {
      self->on_layer_read(buffer::Slice(chunk, 0, static_cast<size_t>(nread)));
      return;
    }
    self->handler_->on_read(buffer::Slice(chunk, 0, static_cast<size_t>(nread)));
    return;
  }
  if (chunk != nullptr) buffer::ChunkPool::unref(chunk);
  if (self == nullptr || nread == 0) return;  // nread == 0 is EAGAIN
  self->reading_ = false;                     // libuv stops reading on EOF and on errors
  if (nread == UV_EOF) {
    // After close_notify the handler has had its on_eof(); the FIN behind it adds nothing.
    if (self->layer_eof_delivered_) return;
    // libuv reports POLLHUP after a short read as EOF, even when the peer sent a RST behind
    // its last bytes. The pending socket error tells the two apart: a reset peer is gone and
    // will read no answer, a half-closed one is still waiting for it.
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(self->fd(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
      self->handler_->on_error(Error::from_uv(uv_translate_sys_error(err), "read"));
      return;
    }
    self->handler_->on_eof();
  } else {
    self->handler_->on_error(Error::from_uv(static_cast<int>(nread), "read"));
  }
}

bool TcpConnection::accepting_writes() const {
  // Writing after close or FIN: the bytes have nowhere to go.
  return (state_ == State::kOpen || state_ == State::kFlushing) && !shutdown_wanted_;
}

void TcpConnection::write(buffer::Buffer& data) {
  if (!accepting_writes()) {
    data.clear();
    return;
  }
  if (data.empty()) return;
  if (layer_ != nullptr) {
    plain_out_.append(std::move(data));
  } else {
    queued_bytes_ += data.size();
    queued_.append(std::move(data));
  }
  after_queueing();
}

void TcpConnection::write(buffer::Slice data) {
  if (!accepting_writes() || data.empty()) return;
  if (layer_ != nullptr) {
    plain_out_.append(std::move(data));
  } else {
    queued_bytes_ += data.size();
    queued_.append(std::move(data));
  }
  after_queueing();
}

void TcpConnection::write(std::string_view bytes) {
  if (!accepting_writes() || bytes.empty()) return;
  if (layer_ != nullptr) {
    plain_out_.append(bytes);
  } else {
    queued_bytes_ += bytes.size();
    queued_.append(bytes);
  }
  after_queueing();
}

void TcpConnection::after_queueing() {
  // The bytes leave at the end of this loop turn (on_batch_end), together with everything
  // else the turn produced for this socket.
  if (!write_in_flight_) worker_.at_batch_end(*this);
  if (!above_high_ && write_queue_bytes() > limits_.high) {
    above_high_ = true;
    handler_->on_high_watermark();
  }
}

void TcpConnection::on_batch_end() {
  flush();
}

void TcpConnection::seal_plaintext() {
  if (layer_ == nullptr || !layer_->established()) return;
  size_t before = queued_.size();
  if (!plain_out_.empty() && !layer_->seal(plain_out_, queued_)) {
    // Only a session that already failed refuses to seal; that failure reached the handler
    // from the read side, and these bytes have nowhere to go.
    plain_out_.clear();
  }
  // A FIN (shutdown or closing flush) is preceded by TLS's own end marker, so the peer can
  // tell a finished stream from a truncated one.
  if ((shutdown_wanted_ || state_ == State::kFlushing) && !close_notify_queued_) {
    close_notify_queued_ = true;
    layer_->close_notify(queued_);
  }
  queued_bytes_ += queued_.size() - before;
}

void TcpConnection::flush() {
  if (write_in_flight_ || state_ == State::kClosing || state_ == State::kClosed) return;
  seal_plaintext();
  if (!queued_.empty() && connected_) {
    // The kernel usually takes everything at once: no request object, no extra loop turn.
    struct iovec iov[kMaxIovecs];
    size_t n = queued_.iovecs(iov, kMaxIovecs);
    int rc =
        uv_try_write(tcp_.stream(), reinterpret_cast<uv_buf_t*>(iov), static_cast<unsigned>(n));
    if (rc > 0) {
      queued_.drain(static_cast<size_t>(rc));
      queued_bytes_ -= static_cast<size_t>(rc);
      account_written(static_cast<size_t>(rc));
    }
    // A hard error (EPIPE, ECONNRESET) falls through too: the uv_write below fails the same
    // way and reports it from its callback.
  }
  // What the socket did not take (or everything, while connecting) goes to libuv's queue.
  if (!queued_.empty()) {
    start_write_request();
    return;
  }
  after_drained();
}

void TcpConnection::account_written(size_t n) {
  bytes_written_ += n;
  if (write_counter_ != nullptr) write_counter_->inc(n);
}

void TcpConnection::set_byte_counters(metrics::Counter* read, metrics::Counter* written) {
  read_counter_ = read;
  write_counter_ = written;
  if (read != nullptr) read->inc(bytes_read_);
  if (written != nullptr) written->inc(bytes_written_);
}

void TcpConnection::start_write_request() {
  assert(!write_in_flight_ && !queued_.empty());
  auto* w = new WriteRequest(worker_.chunks());
  // Take as many slices as one writev carries; the rest waits for this one to finish.
  size_t take = 0;
  for (size_t i = 0; i < queued_.slice_count() && i < kMaxIovecs; ++i)
    take += queued_.slice(i).size();
  queued_.move_prefix_to(w->bytes, take);
  queued_bytes_ -= take;
  in_flight_bytes_ = take;
  struct iovec iov[kMaxIovecs];
  size_t n = w->bytes.iovecs(iov, kMaxIovecs);
  w->req.data = w;
  int rc = uv_write(&w->req, tcp_.stream(), reinterpret_cast<uv_buf_t*>(iov),
                    static_cast<unsigned>(n), &TcpConnection::on_write_cb);
  if (rc != 0) {
    // Only fails on a closing handle; the bytes are dropped with it.
    in_flight_bytes_ = 0;
    delete w;
    return;
  }
  write_in_flight_ = true;
}

void TcpConnection::on_write_cb(uv_write_t* req, int status) {
  auto* w = static_cast<WriteRequest*>(req->data);
  auto* self = static_cast<TcpConnection*>(req->handle->data);
  size_t written = w->bytes.size();
  delete w;
  if (self == nullptr) return;  // closed: the request was cancelled
  self->write_in_flight_ = false;
  self->in_flight_bytes_ = 0;
  if (status < 0) {
    self->queued_.clear();
    self->queued_bytes_ = 0;
    if (self->state_ == State::kFlushing) {
      self->finish_close(CloseMode::kNoFlush);
    } else {
      self->handler_->on_error(Error::from_uv(status, "write"));
    }
    return;
  }
  self->account_written(written);
  self->flush();
}

void TcpConnection::after_drained() {
  if (above_high_ && write_queue_bytes() <= limits_.low) {
    above_high_ = false;
    handler_->on_low_watermark();
  }
  if (write_in_flight_ || !queued_.empty() || !plain_out_.empty()) return;
  if (state_ == State::kFlushing) {
    finish_close(CloseMode::kFlush);
    return;
  }
  if (shutdown_wanted_ && !shutdown_sent_) send_shutdown();
}

void TcpConnection::shutdown_write() {
  if (shutdown_wanted_ || state_ != State::kOpen) return;
  shutdown_wanted_ = true;
  if (layer_ != nullptr) {
    worker_.at_batch_end(*this);  // close_notify goes out before the FIN (seal_plaintext)
    return;
  }
  if (!write_in_flight_ && queued_.empty()) send_shutdown();
}

void TcpConnection::send_shutdown() {
  shutdown_sent_ = true;
  auto* req = new uv_shutdown_t;
  if (uv_shutdown(req, tcp_.stream(), &TcpConnection::on_shutdown_cb) != 0) delete req;
}

void TcpConnection::on_shutdown_cb(uv_shutdown_t* req, int) {
  delete req;
}

void TcpConnection::close(CloseMode mode) {
  if (state_ == State::kClosing || state_ == State::kClosed) return;
  if (state_ == State::kFlushing && mode == CloseMode::kFlush) return;
  read_stop();
  if (mode == CloseMode::kFlush && layer_ != nullptr) {
    if (!layer_->established()) {
      // Nothing unsealed can be delivered without the handshake, which needs reading.
      finish_close(CloseMode::kNoFlush);
      return;
    }
    state_ = State::kFlushing;
    flush();  // seals what is left and adds close_notify; finishes the close when drained
    return;
  }
  if (mode == CloseMode::kFlush && (write_in_flight_ || !queued_.empty())) {
    state_ = State::kFlushing;
    return;
  }
  finish_close(mode);
}

void TcpConnection::finish_close(CloseMode mode) {
  // An abort still delivers what the turn produced before it (a response head, say): the
  // peer reads those bytes, then the reset.
  if (mode == CloseMode::kAbort && state_ == State::kOpen) flush();
  state_ = State::kClosing;
  queued_.clear();
  plain_out_.clear();
  queued_bytes_ = 0;
  if (mode == CloseMode::kAbort && connected_) {
    tcp_.close_reset(&TcpConnection::on_handle_closed, this);
  } else {
    tcp_.close(&TcpConnection::on_handle_closed, this);
  }
}

void TcpConnection::on_handle_closed(void* ctx) {
  auto* self = static_cast<TcpConnection*>(ctx);
  self->state_ = State::kClosed;
  self->handler_->on_closed();
}

SocketAddress TcpConnection::local_address() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (!tcp_.open() || uv_tcp_getsockname(tcp_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return {};
  }
  return SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

SocketAddress TcpConnection::peer_address() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (!tcp_.open() || uv_tcp_getpeername(tcp_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return {};
  }
  return SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

int TcpConnection::fd() const {
  uv_os_fd_t fd = -1;
  if (tcp_.open()) uv_fileno(tcp_.handle(), &fd);
  return fd;
}

Result<SocketAddress> TcpConnection::original_destination() const {
  int s = fd();
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int rc;
  if (local_address().family() == AF_INET6) {
    rc = getsockopt(s, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &len);
  } else {
    rc = getsockopt(s, SOL_IP, SO_ORIGINAL_DST, &ss, &len);
  }
  if (rc != 0) {
    return fail(Error::from_uv(uv_translate_sys_error(errno), "getsockopt(SO_ORIGINAL_DST)"));
  }
  return SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

}  // namespace lmesh::net
