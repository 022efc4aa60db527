// The first owner of an accepted control-API connection: reads until the first bytes say
// HTTP/2 (the client preface, RFC 9113 §3.4) or anything else (HTTP/1.1), then hands the
// socket and those bytes to the connection class that speaks it.
#pragma once

#include <memory>

#include "common/api/server.h"
#include "common/buffer/buffer.h"
#include "common/event/deadline.h"
#include "common/net/tcp_connection.h"

namespace lmesh::api {

class Server::Detector final : public Server::Connection, private net::TcpConnection::Handler {
 public:
  Detector(Server& server, uint64_t id);
  void accept(uv_stream_t* listener);
  void close(net::CloseMode mode) override;

 private:
  void on_read(buffer::Slice data) override;
  void on_eof() override { close(net::CloseMode::kNoFlush); }
  void on_error(const Error&) override { close(net::CloseMode::kNoFlush); }
  void on_closed() override;
  void hand_over(bool http2);
  // With ServerOptions::tls or tls_provider: whether the bytes so far can be detected as HTTP yet
  // (false while a TLS record is incomplete or its handshake has just started).
  bool past_tls();

  Server& server_;
  uint64_t id_;
  std::unique_ptr<net::TcpConnection> tcp_;
  buffer::Buffer peeked_;
  event::Deadline idle_;
  bool closing_ = false;
  bool tls_decided_ = false;
};

}  // namespace lmesh::api
