// The first owner of every accepted connection: it learns where the connection should go,
// reads until the first bytes tell the protocol (or --detect-timeout passes), then hands the
// socket and the bytes read so far to the opaque relay or the HTTP/1 or HTTP/2 server.
//
// Inbound, a ClientHello asking (SNI) for this proxy's identity is mesh TLS: the connection
// is terminated here (detect -> TLS -> detect again on the plaintext, STYLE.md §5), and the
// client's verified identity travels on with the connection. A ClientHello for another name is
// the application's own TLS and is relayed untouched.
#pragma once

#include <memory>

#include "common/buffer/buffer.h"
#include "common/event/timer.h"
#include "common/net/tcp_connection.h"
#include "proxy/detect/protocol.h"
#include "proxy/direction.h"
#include "proxy/discovery/discovery_cache.h"
#include "proxy/proxy_connection.h"
#include "proxy/routing.h"

namespace lmesh::proxy {

class DetectingConnection final : public ProxyConnection, private net::TcpConnection::Handler {
 public:
  // `fixed_destination`: the connection's original destination (outbound) or the application
  // address it is for (inbound), given by the listener it came to (ServiceListener) rather than
  // by iptables.
  DetectingConnection(ProxyWorker& worker, Direction direction,
                      std::optional<net::SocketAddress> fixed_destination = std::nullopt);
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
  void on_connected() override;  // mesh TLS handshake done

  // HTTP/1 or HTTP/2: the socket and the bytes read so far go to a server connection.
  template <class Server>
  void hand_to_server();
  void decide(Protocol protocol);
  // Inbound TLS: terminate it (true), or leave it to be relayed (false: not for this proxy).
  bool terminate_tls();
  void refuse_plaintext();
  void on_detect_timeout();
  void read_opaque_header();
  // Opaque bytes outbound: to an endpoint of the service discovery knows the original
  // destination (IP:port) as, balanced per connection; else to the original destination.
  void relay(TlsLabel tls);
  void relay_to(TlsLabel tls, Result<DiscoveryCache::Service*> service);
  void close(net::CloseMode mode);

  Direction direction_;
  std::optional<net::SocketAddress> fixed_destination_;
  std::unique_ptr<net::TcpConnection> tcp_;
  buffer::Buffer peeked_;
  event::Timer timer_;
  ConnectionTarget target_;
  std::unique_ptr<DiscoveryCache::PendingLookup> lookup_;  // the opaque relay's, while it waits
  bool handed_off_ = false;
  bool awaiting_client_hello_ = false;  // the first TLS record is not complete yet
  bool handshaking_ = false;
  bool secured_ = false;
  bool tls_not_ours_ = false;            // a ClientHello for another name: the application's TLS
  bool awaiting_opaque_header_ = false;  // mesh TLS with ALPN lmesh.io/opaque-v1
};

}  // namespace lmesh::proxy
