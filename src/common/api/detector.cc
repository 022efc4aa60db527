#include "common/api/detector.h"

#include <string>
#include <string_view>

#include "common/api/h1_connection.h"
#include "common/api/h2_connection.h"
#include "common/tls/session.h"

namespace lmesh::api {
namespace {
constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
}  // namespace

Server::Detector::Detector(Server& server, uint64_t id)
    : server_(server),
      id_(id),
      tcp_(std::make_unique<net::TcpConnection>(server.worker(),
                                                static_cast<net::TcpConnection::Handler&>(*this))),
      peeked_(server.worker().chunks()),
      idle_(server.worker().loop(), [this] { close(net::CloseMode::kNoFlush); }) {}

void Server::Detector::accept(uv_stream_t* listener) {
  if (!tcp_->accept(listener)) {
    close(net::CloseMode::kNoFlush);
    return;
  }
  idle_.set(server_.options().idle_timeout);
  tcp_->read_start();
}

void Server::Detector::on_read(buffer::Slice data) {
  peeked_.append(std::move(data));
  if (!past_tls()) return;
  // Only the preface's 24 bytes matter; they may arrive over several reads.
  std::string head;
  for (size_t i = 0; i < peeked_.slice_count() && head.size() < kH2Preface.size(); ++i) {
    std::string_view piece = peeked_.slice(i).view();
    head.append(piece.substr(0, kH2Preface.size() - head.size()));
  }
  if (!kH2Preface.starts_with(head)) {
    hand_over(false);
  } else if (head.size() == kH2Preface.size()) {
    hand_over(true);
  }
}

bool Server::Detector::past_tls() {
  if (tls_decided_) return true;
  const ServerOptions& options = server_.options();
  bool tls_offered = options.tls_provider != nullptr || options.tls != nullptr;
  std::string bytes = peeked_.to_string();
  if (!tls_offered || static_cast<uint8_t>(bytes[0]) != 0x16) {  // not a TLS handshake
    tls_decided_ = true;
    return true;
  }
  // The whole first record (RFC 8446 §5.1: a 5-byte header with its length).
  if (bytes.size() < 5) return false;
  size_t record = 5 + ((static_cast<uint8_t>(bytes[3]) << 8) | static_cast<uint8_t>(bytes[4]));
  if (bytes.size() < record) return false;
  tls_decided_ = true;
  // Asked once per connection, now: a rotated certificate serves the next ClientHello.
  std::shared_ptr<const tls::Context> context =
      options.tls_provider ? options.tls_provider() : options.tls;
  if (context == nullptr) return true;  // no certificate yet: detected as plaintext
  auto session = tls::Session::server(std::move(context));
  auto started = session ? tcp_->set_transport_layer(std::move(*session), bytes)
                         : Result<void>(std::unexpected(session.error()));
  if (!started) {
    close(net::CloseMode::kAbort);
    return false;
  }
  peeked_.clear();  // the plaintext follows once the handshake is done
  return false;
}

void Server::Detector::hand_over(bool http2) {
  idle_.clear();
  tcp_->read_stop();
  closing_ = true;  // the socket is no longer ours to close
  if (http2) {
    auto* next = new H2Connection(server_, id_, std::move(tcp_), std::move(peeked_));
    server_.replace(id_, next);
    next->start();
  } else {
    auto* next = new H1Connection(server_, id_, std::move(tcp_), std::move(peeked_));
    server_.replace(id_, next);
    next->start();
  }
  server_.worker().defer_delete(std::unique_ptr<event::DeferredDeletable>(this));
}

void Server::Detector::close(net::CloseMode mode) {
  if (closing_) return;
  closing_ = true;
  idle_.clear();
  tcp_->close(mode);
}

void Server::Detector::on_closed() {
  server_.forget(id_);
  server_.worker().defer_delete(std::unique_ptr<event::DeferredDeletable>(this));
}

}  // namespace lmesh::api
