// The TCP metrics of one connection, kept right by construction: opening counts and raises
// tcp_open_connections, destruction counts the close and lowers it again, and the socket
// feeds the byte counters as bytes move.
#pragma once

#include <memory>
#include <utility>

#include "common/metrics/gauge.h"
#include "common/net/tcp_connection.h"
#include "proxy/proxy_metrics.h"

namespace lmesh::proxy {

class TcpMeter {
 public:
  TcpMeter() = default;
  TcpMeter(const TcpMetrics& metrics, net::TcpConnection& conn)
      : metrics_(&metrics), open_(*metrics.open_connections) {
    metrics.open_total->inc();
    conn.set_byte_counters(metrics.read_bytes, metrics.write_bytes);
  }
  ~TcpMeter() {
    if (metrics_ != nullptr) metrics_->close_total->inc();
  }
  TcpMeter(TcpMeter&& o) noexcept
      : metrics_(std::exchange(o.metrics_, nullptr)), open_(std::move(o.open_)) {}
  TcpMeter& operator=(TcpMeter&& o) noexcept {
    if (this != &o) {
      if (metrics_ != nullptr) metrics_->close_total->inc();
      metrics_ = std::exchange(o.metrics_, nullptr);
      open_ = std::move(o.open_);
    }
    return *this;
  }

 private:
  const TcpMetrics* metrics_ = nullptr;
  metrics::GaugeGuard open_;
};

}  // namespace lmesh::proxy

namespace lmesh::proxy {

// A socket handed from one owner to the next (detection to relay, HTTP/1 upgrade to tunnel)
// together with its metrics, so the connection is counted once from open to close.
struct MeteredSocket {
  std::unique_ptr<net::TcpConnection> tcp;
  TcpMeter meter;
};

}  // namespace lmesh::proxy
