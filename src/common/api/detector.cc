#include "common/api/detector.h"

#include <string>
#include <string_view>

#include "common/api/h1_connection.h"
#include "common/api/h2_connection.h"

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
