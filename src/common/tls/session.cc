#include "common/tls/session.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>

#include <cassert>
#include <cstring>

#include "common/tls/native.h"

namespace lmesh::tls {
namespace {

// SSL_read and BIO_read fill pooled chunks in pieces this large (one TLS record's payload).
constexpr size_t kReadPiece = 16 * 1024;

bool is_ip_literal(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

X509* peer_certificate(const SSL* ssl) {
#ifdef OPENSSL_IS_BORINGSSL
  return SSL_get_peer_certificate(ssl);
#else
  return SSL_get1_peer_certificate(ssl);
#endif
}

}  // namespace

std::string_view to_string(FailureReason reason) {
  switch (reason) {
    case FailureReason::kIdentityMismatch: return "tls identity mismatch";
    case FailureReason::kUntrusted: return "tls certificate untrusted";
    case FailureReason::kExpired: return "tls certificate expired";
    case FailureReason::kNoPeerCertificate: return "tls peer certificate missing";
    case FailureReason::kNotForThisServer: return "tls server name not ours";
    case FailureReason::kHandshakeFailed: return "tls handshake failed";
  }
  return "tls handshake failed";
}

std::optional<FailureReason> failure_reason(const Error& error) {
  for (FailureReason r : {FailureReason::kIdentityMismatch, FailureReason::kUntrusted,
                          FailureReason::kExpired, FailureReason::kNoPeerCertificate,
                          FailureReason::kNotForThisServer, FailureReason::kHandshakeFailed}) {
    if (error.message() == to_string(r)) return r;
  }
  return std::nullopt;
}

std::string_view metric_token(std::optional<FailureReason> reason) {
  if (!reason) return "error";
  switch (*reason) {
    case FailureReason::kIdentityMismatch: return "identity_mismatch";
    case FailureReason::kUntrusted: return "untrusted";
    case FailureReason::kExpired: return "expired";
    case FailureReason::kNoPeerCertificate: return "no_peer_certificate";
    case FailureReason::kNotForThisServer: return "not_for_this_server";
    case FailureReason::kHandshakeFailed: break;
  }
  return "handshake_failed";
}

Session::Session(std::shared_ptr<const Context> context, ssl_st* ssl)
    : context_(std::move(context)), ssl_(ssl) {
  SSL_set_app_data(ssl_, this);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  // An empty input BIO means "wait for more", not end of stream.
  BIO_set_mem_eof_return(in, -1);
  SSL_set_bio(ssl_, in, out);  // the SSL owns both
}

Session::~Session() {
  SSL_free(ssl_);
}

Result<std::unique_ptr<Session>> Session::client(std::shared_ptr<const Context> context,
                                                 const ClientSessionOptions& options) {
  assert(context->role() == Role::kClient);
  SSL* ssl = SSL_new(context->native());
  if (ssl == nullptr) return fail(native::error(ErrorCode::kInternal, "making a TLS session"));
  std::unique_ptr<Session> session(new Session(std::move(context), ssl));
  SSL_set_connect_state(ssl);
  if (!options.server_name.empty() && !is_ip_literal(options.server_name) &&
      SSL_set_tlsext_host_name(ssl, options.server_name.c_str()) != 1) {
    return fail(native::error(ErrorCode::kInvalidArgument, "setting SNI"));
  }
  if (options.expected_identity) {
    // Checked during verification: a DNS SAN like a host name (the length must be passed: 0
    // fails, DEPS.md), or an IP SAN for an address.
    const std::string& id = *options.expected_identity;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    int ok = is_ip_literal(id) ? X509_VERIFY_PARAM_set1_ip_asc(param, id.c_str())
                               : X509_VERIFY_PARAM_set1_host(param, id.data(), id.size());
    if (ok != 1) {
      return fail(native::error(ErrorCode::kInvalidArgument, "setting the expected identity"));
    }
  }
  if (options.resume) SSL_set_session(ssl, options.resume.get());
  return session;
}

Result<std::unique_ptr<Session>> Session::server(std::shared_ptr<const Context> context,
                                                 const ServerSessionOptions& options) {
  assert(context->role() == Role::kServer);
  SSL* ssl = SSL_new(context->native());
  if (ssl == nullptr) return fail(native::error(ErrorCode::kInternal, "making a TLS session"));
  std::unique_ptr<Session> session(new Session(std::move(context), ssl));
  session->server_options_ = options;
  SSL_set_accept_state(ssl);
  return session;
}

Result<void> Session::start(buffer::Buffer& wire) {
  if (context_->role() == Role::kServer) return {};
  return handshake(wire);
}

Result<void> Session::handshake(buffer::Buffer& wire) {
  int rc = SSL_do_handshake(ssl_);
  drain_output(wire);
  if (rc == 1) {
    established_ = true;
    return {};
  }
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return {};
  return fail(failure(native::drain_errors("handshake")));
}

Error Session::failure(std::string_view library_detail) const {
  FailureReason reason = FailureReason::kHandshakeFailed;
  // The verify result means something only once a certificate arrived.
  X509* peer = peer_certificate(ssl_);
  long verify = peer != nullptr ? SSL_get_verify_result(ssl_) : X509_V_OK;
  X509_free(peer);
  if (wrong_server_name_) {
    reason = FailureReason::kNotForThisServer;
  } else if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    reason = FailureReason::kIdentityMismatch;
  } else if (verify == X509_V_ERR_CERT_HAS_EXPIRED || verify == X509_V_ERR_CERT_NOT_YET_VALID) {
    reason = FailureReason::kExpired;
  } else if (verify != X509_V_OK) {
    reason = FailureReason::kUntrusted;
  } else if (library_detail.find("PEER_DID_NOT_RETURN_A_CERTIFICATE") != std::string_view::npos ||
             library_detail.find("peer did not return a certificate") != std::string_view::npos) {
    reason = FailureReason::kNoPeerCertificate;
  }
  ErrorCode code =
      reason == FailureReason::kHandshakeFailed ? ErrorCode::kProtocol : ErrorCode::kRefused;
  std::string detail(library_detail);
  if (verify != X509_V_OK) {
    detail += "; ";
    detail += X509_verify_cert_error_string(verify);
  }
  return Error::wrap(Error(code, std::move(detail)), std::string(to_string(reason)));
}

Result<void> Session::on_wire(std::string_view bytes, buffer::Buffer& plaintext,
                              buffer::Buffer& wire) {
  if (!bytes.empty() &&
      BIO_write(SSL_get_rbio(ssl_), bytes.data(), static_cast<int>(bytes.size())) !=
          static_cast<int>(bytes.size())) {
    return fail(native::error(ErrorCode::kInternal, "buffering TLS input"));
  }
  if (!established_) {
    if (auto ok = handshake(wire); !ok) return ok;
    if (!established_) return {};
  }
  while (!peer_closed_) {
    size_t room = 0;
    char* p = plaintext.reserve(kReadPiece, &room);
    int n = SSL_read(ssl_, p, static_cast<int>(std::min(room, kReadPiece)));
    if (n > 0) {
      plaintext.commit(static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
    if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      break;
    }
    drain_output(wire);  // an alert for the peer, if the library made one
    return fail(ErrorCode::kProtocol, native::drain_errors("tls record error"));
  }
  drain_output(wire);
  return {};
}

Result<void> Session::seal(buffer::Buffer& plaintext, buffer::Buffer& wire) {
  assert(established_);
  // Each SSL_write is at least one record (header, tag, one AEAD pass), and codecs write many
  // small slices (an HTTP/2 frame header, then its payload): small slices are gathered into
  // full records first; large ones go as they are.
  char gathered[kReadPiece];
  size_t fill = 0;
  auto write = [this](const char* data, size_t len) {
    // A memory BIO takes everything, so SSL_write never writes part of a piece.
    return len == 0 || SSL_write(ssl_, data, static_cast<int>(len)) == static_cast<int>(len);
  };
  bool ok = true;
  while (ok && !plaintext.empty()) {
    const buffer::Slice& s = plaintext.slice(0);
    if (s.size() >= kReadPiece / 4) {
      ok = write(gathered, fill) && write(s.data(), s.size());
      fill = 0;
    } else {
      if (fill + s.size() > sizeof(gathered)) {
        ok = write(gathered, fill);
        fill = 0;
      }
      std::memcpy(gathered + fill, s.data(), s.size());
      fill += s.size();
    }
    plaintext.drain(s.size());
  }
  ok = ok && write(gathered, fill);
  if (!ok) {
    plaintext.clear();
    return fail(native::error(ErrorCode::kInternal, "sealing TLS records"));
  }
  drain_output(wire);
  return {};
}

void Session::close_notify(buffer::Buffer& wire) {
  if (close_notify_sent_ || !established_) return;
  close_notify_sent_ = true;
  SSL_shutdown(ssl_);
  ERR_clear_error();
  drain_output(wire);
}

void Session::drain_output(buffer::Buffer& wire) {
  BIO* out = SSL_get_wbio(ssl_);
  while (BIO_pending(out) > 0) {
    size_t room = 0;
    char* p = wire.reserve(kReadPiece, &room);
    int n = BIO_read(out, p, static_cast<int>(std::min(room, kReadPiece)));
    if (n <= 0) break;
    wire.commit(static_cast<size_t>(n));
  }
}

std::string_view Session::alpn() const {
  const unsigned char* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &data, &len);
  return len == 0 ? std::string_view() : std::string_view(reinterpret_cast<const char*>(data), len);
}

std::optional<std::string> Session::peer_identity() const {
  X509* cert = peer_certificate(ssl_);
  if (cert == nullptr) return std::nullopt;
  // With SSL_VERIFY_PEER a failed verification already fails the handshake; this keeps a name
  // from ever being reported for a certificate nobody checked (SSL_VERIFY_NONE, no anchors).
  // Resumed sessions carry the original handshake's result.
  if (SSL_get_verify_result(ssl_) != X509_V_OK ||
      (SSL_get_verify_mode(ssl_) & SSL_VERIFY_PEER) == 0) {
    X509_free(cert);
    return std::nullopt;
  }
  Certificate leaf = Certificate::from_native(cert);
  X509_free(cert);
  auto names = leaf.dns_names();
  if (names.empty()) return std::nullopt;
  return names.front();
}

bool Session::resumed() const {
  return SSL_session_reused(ssl_) == 1;
}

std::string_view Session::version() const {
  return SSL_get_version(ssl_);
}

std::string Session::server_name() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name == nullptr ? std::string() : std::string(name);
}

std::optional<std::string> peer_identity(const net::TransportLayer* layer) {
  const auto* session = dynamic_cast<const Session*>(layer);
  if (session == nullptr || !session->established()) return std::nullopt;
  return session->peer_identity();
}

void Session::on_new_ticket(ssl_session_st* session) {
  ticket_ = native::share<SSL_SESSION, SSL_SESSION_free>(session);
}

}  // namespace lmesh::tls
