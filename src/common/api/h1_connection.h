// One HTTP/1.1 client of an api::Server: requests are answered one at a time (pipelined ones
// wait in order), bodies are collected up to the server's limit, and a streamed response is
// sent as chunks, one per event.
#pragma once

#include <memory>
#include <string>

#include "common/api/server.h"
#include "common/buffer/buffer.h"
#include "common/event/deadline.h"
#include "common/event/timer.h"
#include "common/http/h1/parser.h"
#include "common/net/tcp_connection.h"

namespace lmesh::api {

class H1Connection final : public Server::Connection,
                           private net::TcpConnection::Handler,
                           private http::h1::Parser::Handler {
 public:
  // Takes over an accepted connection and the bytes already read from it.
  H1Connection(Server& server, uint64_t id, std::unique_ptr<net::TcpConnection> tcp,
               buffer::Buffer initial);
  ~H1Connection() override;
  // Serves what was read already, then reads on.
  void start();

  void close(net::CloseMode mode) override;

 private:
  class H1Response;
  friend class H1Response;

  // net::TcpConnection::Handler
  void on_read(buffer::Slice data) override;
  void on_eof() override;
  void on_error(const Error& error) override;
  void on_closed() override;
  // http::h1::Parser::Handler
  void on_head() override;
  void on_body(buffer::Slice data) override;
  void on_message_complete() override {}

  void process();
  void dispatch();
  void reject(int status, std::string_view error, std::string_view detail);
  // From the response: it has ended; the next request may be served.
  void response_done(bool keep_alive);
  void write(buffer::Buffer& bytes) { tcp_->write(bytes); }

  Server& server_;
  uint64_t id_;
  std::unique_ptr<net::TcpConnection> tcp_;
  std::string peer_identity_;  // what every request reports as Request::peer_identity
  http::h1::Parser parser_;
  buffer::Buffer pending_;
  event::Deadline idle_;
  event::Timer overflow_close_;  // a stream's client stopped reading: close on the next turn
  std::string body_;
  bool body_too_large_ = false;
  std::shared_ptr<H1Response> current_;  // the response being written, if any
  bool dispatching_ = false;
  bool closing_ = false;
};

}  // namespace lmesh::api
