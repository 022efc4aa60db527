// One HTTP/2 client of an api::Server (prior knowledge, RFC 9113 §3.3): every stream is a
// request to the same routes as over HTTP/1.1. Request bodies are collected up to the
// server's limit; responses, whole or streamed, go out as HEADERS and DATA frames, written once
// per loop turn (events sent in one turn share a DATA frame).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "common/api/server.h"
#include "common/buffer/buffer.h"
#include "common/event/deadline.h"
#include "common/http/h2/session.h"
#include "common/net/tcp_connection.h"

namespace lmesh::api {

class H2Connection final : public Server::Connection,
                           private net::TcpConnection::Handler,
                           private http::h2::Session::Handler,
                           private event::BatchEndTask {
 public:
  // Takes over an accepted connection and the bytes already read from it (the preface).
  H2Connection(Server& server, uint64_t id, std::unique_ptr<net::TcpConnection> tcp,
               buffer::Buffer initial);
  ~H2Connection() override;

  void start();
  void close(net::CloseMode mode) override;

 private:
  class H2Response;
  friend class H2Response;
  struct Request {
    std::string body;
    bool too_large = false;
    std::shared_ptr<H2Response> response;
  };

  // net::TcpConnection::Handler
  void on_read(buffer::Slice data) override;
  void on_eof() override;
  void on_error(const Error& error) override;
  void on_closed() override;
  // http::h2::Session::Handler
  void on_request_head(http::h2::Stream& stream, bool end_stream) override;
  void on_data(http::h2::Stream& stream, buffer::Slice data) override;
  void on_stream_end(http::h2::Stream& stream) override;
  void on_stream_closed(http::h2::Stream& stream) override;
  void on_connection_error(const http::h2::ConnectionError& error) override;
  // event::BatchEndTask: frames out once per loop turn.
  void on_batch_end() override;

  void dispatch(http::h2::Stream& stream, Request& request);
  void schedule_flush();
  void update_idle();

  Server& server_;
  uint64_t id_;
  std::unique_ptr<net::TcpConnection> tcp_;
  std::string peer_identity_;  // what every request reports as Request::peer_identity
  buffer::Buffer initial_;
  std::unique_ptr<http::h2::ServerSession> session_;
  std::unordered_map<http::h2::StreamId, Request> requests_;
  event::Deadline idle_;
  bool closing_ = false;
};

}  // namespace lmesh::api
