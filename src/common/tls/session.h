// One TLS connection's state, driven entirely through memory: ciphertext in from the socket,
// plaintext out to the codec and back (net::TransportLayer). No socket I/O happens here, so
// the same class serves the proxy's inbound and outbound sides and the control-API clients.
//
// Handshake failures come back as Errors whose message is a short reason the proxy reports
// as it is (lmesh-proxy-error, metric labels): see FailureReason.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/net/transport_layer.h"
#include "common/result.h"
#include "common/tls/context.h"

struct ssl_st;
struct ssl_session_st;

namespace lmesh::tls {

// Why a handshake failed, as the proxy names it.
enum class FailureReason {
  kIdentityMismatch,   // the peer's certificate is valid but names someone else
  kUntrusted,          // the peer's certificate does not chain to a trust anchor
  kExpired,            // the peer's certificate (or its chain) is out of its validity
  kNoPeerCertificate,  // the peer sent no certificate though one is required
  kNotForThisServer,   // server: the client asked (SNI) for a name this server does not hold
  kHandshakeFailed,    // anything else: protocol errors, version or ALPN mismatch, garbage
};
std::string_view to_string(FailureReason reason);  // "tls identity mismatch", ...
// The reason of an Error a Session returned; nullopt for other errors.
std::optional<FailureReason> failure_reason(const Error& error);
// A metric label value: "identity_mismatch", "untrusted", ...; "error" for nullopt.
std::string_view metric_token(std::optional<FailureReason> reason);

// A client's saved session, offered on the next connection to the same server to skip the
// full handshake (TLS 1.3 PSK resumption).
using ResumptionTicket = std::shared_ptr<ssl_session_st>;

struct ClientSessionOptions {
  std::string server_name;  // SNI; empty (or an IP address, which SNI cannot carry): none
  // The server's certificate must name this: a DNS SAN, or an IP SAN for an IP address.
  std::optional<std::string> expected_identity;
  ResumptionTicket resume;  // offered if set
};

struct ServerSessionOptions {
  // Accept only ClientHellos whose SNI ends with this (the mesh's identity names); a
  // handshake asking for another name fails with kNotForThisServer before anything is sent
  // back, so the caller can still relay the connection untouched. Empty: any name.
  std::string required_server_name_suffix;
};

class Session final : public net::TransportLayer {
 public:
  static Result<std::unique_ptr<Session>> client(std::shared_ptr<const Context> context,
                                                 const ClientSessionOptions& options);
  static Result<std::unique_ptr<Session>> server(std::shared_ptr<const Context> context,
                                                 const ServerSessionOptions& options = {});
  ~Session() override;

  // net::TransportLayer
  Result<void> start(buffer::Buffer& wire) override;
  Result<void> on_wire(std::string_view bytes, buffer::Buffer& plaintext,
                       buffer::Buffer& wire) override;
  Result<void> seal(buffer::Buffer& plaintext, buffer::Buffer& wire) override;
  void close_notify(buffer::Buffer& wire) override;
  bool established() const override { return established_; }
  bool peer_closed() const override { return peer_closed_; }

  // After the handshake:
  std::string_view alpn() const;
  // The peer's first DNS SAN (its mesh identity), if it presented a certificate and the
  // handshake verified it against the trust anchors (a context without anchors verifies
  // nothing, so a name there would be only a claim).
  std::optional<std::string> peer_identity() const;
  bool resumed() const;
  std::string_view version() const;
  // Client: the newest ticket the server sent, to resume the next connection with.
  ResumptionTicket resumption_ticket() const { return ticket_; }
  // Server: the SNI the client sent.
  std::string server_name() const;

  // For the library's callbacks.
  void on_new_ticket(ssl_session_st* session);
  const ServerSessionOptions& server_options() const { return server_options_; }
  void note_wrong_server_name() { wrong_server_name_ = true; }

 private:
  Session(std::shared_ptr<const Context> context, ssl_st* ssl);
  Result<void> handshake(buffer::Buffer& wire);
  Error failure(std::string_view library_detail) const;
  void drain_output(buffer::Buffer& wire);

  std::shared_ptr<const Context> context_;
  ssl_st* ssl_;
  ServerSessionOptions server_options_;
  ResumptionTicket ticket_;
  bool established_ = false;
  bool peer_closed_ = false;
  bool close_notify_sent_ = false;
  bool wrong_server_name_ = false;
};

// The mesh identity a connection's peer proved (Session::peer_identity), when `layer` is a TLS
// session; nullopt for plaintext (no layer) and for peers without a verified certificate. For
// servers that admit clients by identity, whatever else they speak over the connection.
std::optional<std::string> peer_identity(const net::TransportLayer* layer);

}  // namespace lmesh::tls
