// A layer between a TcpConnection's socket and its Handler that transforms the bytes both ways:
// TLS (src/common/tls/session.h) is the one there is. The connection stays the one object
// codecs talk to; with a layer installed, what they read is plaintext and what they write is
// sealed on its way out, like Envoy's TransportSocket.
//
// net defines the interface and tls implements it, so the layers stay net <- tls.
#pragma once

#include <string_view>

#include "common/buffer/buffer.h"
#include "common/result.h"

namespace lmesh::net {

class TransportLayer {
 public:
  virtual ~TransportLayer() = default;

  // The client side's first flight (a ClientHello) into `wire`; nothing for a server.
  virtual Result<void> start(buffer::Buffer& wire) = 0;
  // Bytes read from the socket. Plaintext for the handler goes to `plaintext`; bytes the layer
  // must send (handshake messages, alerts, tickets) go to `wire`. An error ends the
  // connection.
  virtual Result<void> on_wire(std::string_view bytes, buffer::Buffer& plaintext,
                               buffer::Buffer& wire) = 0;
  // Seals all of `plaintext` (which ends empty) into `wire`. Only once established().
  virtual Result<void> seal(buffer::Buffer& plaintext, buffer::Buffer& wire) = 0;
  // The layer's own end-of-stream marker (TLS close_notify) into `wire`, once.
  virtual void close_notify(buffer::Buffer& wire) = 0;

  // The handshake is done: plaintext flows both ways.
  virtual bool established() const = 0;
  // The peer ended its side cleanly (close_notify): the plaintext stream is at its end.
  virtual bool peer_closed() const = 0;
};

}  // namespace lmesh::net
