// The first owner of every accepted connection: it learns where the connection should go,
// reads until the first bytes tell the protocol (or --detect-timeout passes), then hands the
// socket and the bytes read so far to the opaque relay or the HTTP/1 server.
#pragma once

#include <memory>

#include "common/buffer/buffer.h"
#include "common/event/timer.h"
#include "common/net/tcp_connection.h"
#include "proxy/detect/protocol.h"
#include "proxy/direction.h"
#include "proxy/proxy_connection.h"
#include "proxy/routing.h"

namespace lmesh::proxy {

class DetectingConnection final : public ProxyConnection, private net::TcpConnection::Handler {
 public:
  DetectingConnection(ProxyWorker& worker, Direction direction);
  ~DetectingConnection() override;

  // Accepts from the listener and starts detection.
  void accept(uv_stream_t* server);

  void drain() override;
  void abort() override;

 private:
  void on_read(buffer::Slice data) override;
  void on_eof() override;
  void on_error(const Error& error) override;
  void on_closed() override;

  // HTTP/1 or HTTP/2: the socket and the bytes read so far go to a server connection.
  template <class Server>
  void hand_to_server();
  void decide(Protocol protocol);
  void close(net::CloseMode mode);

  Direction direction_;
  std::unique_ptr<net::TcpConnection> tcp_;
  buffer::Buffer peeked_;
  event::Timer timer_;
  ConnectionTarget target_;
  bool handed_off_ = false;
};

}  // namespace lmesh::proxy
