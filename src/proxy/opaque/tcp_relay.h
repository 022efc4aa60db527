// Opaque TCP: bytes both ways between a downstream and an upstream connection, with half-close
// (a FIN is passed on, the other direction keeps flowing), backpressure (a side whose peer's
// write queue is above its high watermark is not read), and an idle timeout.
#pragma once

#include <cstdint>
#include <optional>

#include "common/buffer/buffer.h"
#include "common/event/deadline.h"
#include "common/net/socket_address.h"
#include "proxy/balance/balancer.h"
#include "proxy/direction.h"
#include "proxy/proxy_connection.h"
#include "proxy/proxy_metrics.h"
#include "proxy/tcp_meter.h"

namespace lmesh::proxy {

class TcpRelay final : public ProxyConnection {
 public:
  // Connects to `destination` and relays `downstream` to it. `initial` holds bytes already
  // read from downstream (during protocol detection). `pick`: the balancer chose the
  // destination; the connect's outcome and time are reported to it (per-connection balancing).
  static void start(ProxyWorker& worker, Direction direction, TlsLabel tls,
                    MeteredSocket downstream, buffer::Buffer initial,
                    const net::SocketAddress& destination,
                    std::optional<balance::Pick> pick = std::nullopt);
  // Joins two connected sockets: an HTTP/1 connection after 101 Switching Protocols.
  // `to_upstream` / `to_downstream` are bytes that arrived behind the heads.
  static void join(ProxyWorker& worker, MeteredSocket downstream, buffer::Buffer to_upstream,
                   MeteredSocket upstream, buffer::Buffer to_downstream);

  // Opaque bytes have no message boundary to stop at: the relay runs until it ends or the
  // grace period does.
  void drain() override {}
  void abort() override;

 private:
  class Side final : public net::TcpConnection::Handler {
   public:
    Side(TcpRelay& relay, const char* name) : relay_(relay), name_(name) {}
    void adopt(MeteredSocket socket);
    net::TcpConnection& tcp() { return *socket_.tcp; }
    bool attached() const { return socket_.tcp != nullptr; }

    void on_read(buffer::Slice data) override;
    void on_eof() override;
    void on_error(const Error& error) override;
    void on_connected() override;
    void on_high_watermark() override;
    void on_low_watermark() override;
    void on_closed() override;

    TcpRelay& relay_;
    const char* name_;
    Side* peer_ = nullptr;
    MeteredSocket socket_;
    bool eof_ = false;  // this side sent FIN
    bool closed_ = false;
  };

  explicit TcpRelay(ProxyWorker& worker);
  void begin(buffer::Buffer to_upstream, buffer::Buffer to_downstream);
  void touch();
  void on_deadline();
  void close_both(net::CloseMode mode);
  void side_closed();

  Side down_;
  Side up_;
  event::Deadline deadline_;  // connect, then idle
  Direction direction_ = Direction::kOutbound;
  bool connecting_ = false;
  bool closing_ = false;
  bool secured_upstream_ = false;      // mesh TLS towards the upstream
  std::optional<balance::Pick> pick_;  // until the upstream connects or fails to
  uint64_t connect_started_ns_ = 0;
  // The balancer learns how the connect went (its time is the RTT peak-EWMA weighs).
  void finish_pick(bool connected);
};

}  // namespace lmesh::proxy
