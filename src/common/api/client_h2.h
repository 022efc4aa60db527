// api::Client's HTTP/2 transport: one h2c (prior knowledge) connection to the server, shared
// by every call and watch of the client as streams. It is made on first use and replaced
// after it fails or the server sends GOAWAY; its streams then fail, and watches reconnect with
// their backoff. Internal to src/common/api.
#pragma once

#include <memory>
#include <unordered_map>

#include "common/api/client.h"
#include "common/api/client_exchange.h"
#include "common/event/deadline.h"
#include "common/event/worker.h"
#include "common/http/h2/session.h"
#include "common/net/tcp_connection.h"

namespace lmesh::api {

class H2Transport final : public event::DeferredDeletable,
                          private net::TcpConnection::Handler,
                          private http::h2::Session::Handler,
                          private event::BatchEndTask {
 public:
  // `gone` runs once the transport takes no more requests (failed, GOAWAY, closed).
  H2Transport(Client& client, std::function<void(H2Transport*)> gone);
  ~H2Transport() override;

  // Opens a stream for `request`. Events come later, never from inside this call.
  ClientExchange* start(const ClientExchange::Request& request, ClientExchange::Events events);
  bool usable() const;
  // Closes now: every open stream fails.
  void close();

 private:
  class H2Exchange;
  friend class H2Exchange;

  void connect();
  // net::TcpConnection::Handler
  void on_connected() override;
  void on_read(buffer::Slice data) override;
  void on_eof() override;
  void on_error(const Error& error) override;
  void on_closed() override;
  // http::h2::Session::Handler
  void on_response_head(http::h2::Stream& stream, bool end_stream) override;
  void on_data(http::h2::Stream& stream, buffer::Slice data) override;
  void on_stream_end(http::h2::Stream& stream) override;
  void on_stream_reset(http::h2::Stream& stream, http::h2::Http2ErrorCode code,
                       http::h2::ResetOrigin origin) override;
  void on_stream_closed(http::h2::Stream& stream) override;
  void on_goaway(http::h2::StreamId, http::h2::Http2ErrorCode, std::string_view) override;
  void on_connection_error(const http::h2::ConnectionError& error) override;
  // event::BatchEndTask
  void on_batch_end() override;

  void schedule_flush();
  void fail(const Error& why);
  void retire();
  static H2Exchange* exchange(http::h2::Stream& stream) {
    return static_cast<H2Exchange*>(stream.context());
  }

  Client& client_;  // only while it is current: a retired transport may outlive the client
  event::Worker& worker_;
  std::function<void(H2Transport*)> gone_;
  net::TcpConnection tcp_;
  std::unique_ptr<http::h2::ClientSession> session_;
  event::Deadline connect_deadline_;
  std::optional<Error> failure_;  // why open streams end with the connection
  bool retired_ = false;
  bool closing_ = false;
};

}  // namespace lmesh::api
