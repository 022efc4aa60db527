#include "common/tls/context.h"

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "common/tls/native.h"
#include "common/tls/session.h"

namespace lmesh::tls {
namespace {

// ALPN's wire form: each name prefixed by its length (RFC 7301 §3.1).
std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string out;
  for (const std::string& p : protocols) {
    out += static_cast<char>(p.size());
    out += p;
  }
  return out;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void* arg) {
  const auto* server_wire = static_cast<const std::string*>(arg);
  // The server's preference wins (RFC 7301 §3.2 leaves the choice to it).
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(
          &selected, out_len, reinterpret_cast<const unsigned char*>(server_wire->data()),
          static_cast<unsigned>(server_wire->size()), in, in_len) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: carry on without ALPN
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// The client keeps the newest session the server hands out (TLS 1.3 sends them after the
// handshake, as NewSessionTicket messages).
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* owner = static_cast<Session*>(SSL_get_app_data(ssl));
  if (owner == nullptr) return 0;
  owner->on_new_ticket(session);
  return 1;  // the Session took the reference
}

bool requested_name_ok(SSL* ssl) {
  auto* owner = static_cast<Session*>(SSL_get_app_data(ssl));
  if (owner == nullptr) return true;
  const std::string& suffix = owner->server_options().required_server_name_suffix;
  if (suffix.empty()) return true;
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name != nullptr && std::string_view(name).ends_with(suffix)) return true;
  owner->note_wrong_server_name();
  return false;
}

// The server-name check runs before the server answers, so a refused ClientHello leaves the
// client's bytes untouched for relaying.
#ifdef OPENSSL_IS_BORINGSSL
ssl_select_cert_result_t check_server_name(const SSL_CLIENT_HELLO* hello) {
  return requested_name_ok(hello->ssl) ? ssl_select_cert_success : ssl_select_cert_error;
}
#else
int check_server_name(SSL* ssl, int* alert, void*) {
  if (requested_name_ok(ssl)) return SSL_TLSEXT_ERR_OK;
  *alert = SSL_AD_UNRECOGNIZED_NAME;
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}
#endif

}  // namespace

TicketKey random_ticket_key() {
  TicketKey key;
  RAND_bytes(key.data(), key.size());
  return key;
}

Result<std::shared_ptr<const Context>> Context::make(const ContextOptions& options) {
  bool server = options.role == Role::kServer;
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr) return fail(native::error(ErrorCode::kInternal, "making a TLS context"));
  // From here on the Context owns ctx (its destructor frees it), also on the error paths.
  std::shared_ptr<Context> context(new Context(ctx, options.role, options.alpn));
  auto fail_with = [](std::string_view what) {
    return fail(native::error(ErrorCode::kInvalidArgument, what));
  };

  if (SSL_CTX_set_min_proto_version(ctx, options.allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION) !=
          1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return fail_with("restricting TLS to version 1.3");
  }
  if (SSL_CTX_set1_curves_list(ctx, "X25519:P-256:P-384") != 1) {
    return fail_with("setting key shares");
  }

  if (options.credentials) {
    const Credentials& c = *options.credentials;
    if (SSL_CTX_use_certificate(ctx, c.leaf.native()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, c.key.native()) != 1) {
      return fail_with("loading the certificate and key");
    }
    for (const Certificate& link : c.chain) {
      // add1: the context takes its own reference.
      if (SSL_CTX_add1_chain_cert(ctx, link.native()) != 1) return fail_with("loading the chain");
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
      return fail_with("the key does not match the certificate");
  }

  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const Certificate& anchor : options.trust_anchors) {
    if (X509_STORE_add_cert(store, anchor.native()) != 1) return fail_with("adding a trust anchor");
  }
  int verify = SSL_VERIFY_PEER;
  if (server && options.require_client_certificate) verify |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  if (server && !options.require_client_certificate && options.trust_anchors.empty()) {
    verify = SSL_VERIFY_NONE;
  }
  SSL_CTX_set_verify(ctx, verify, nullptr);

  if (server) {
    if (!context->alpn_.empty()) {
      context->alpn_wire_ = alpn_wire(context->alpn_);
      SSL_CTX_set_alpn_select_cb(ctx, select_alpn, &context->alpn_wire_);
    }
    TicketKey key = options.ticket_key.value_or(random_ticket_key());
#ifdef OPENSSL_IS_BORINGSSL
    constexpr size_t kTicketKeyBytes = 48;  // must be exact (DEPS.md)
#else
    constexpr size_t kTicketKeyBytes = 80;
#endif
    if (SSL_CTX_set_tlsext_ticket_keys(ctx, key.data(), kTicketKeyBytes) != 1) {
      return fail_with("setting the session ticket key");
    }
#ifdef OPENSSL_IS_BORINGSSL
    SSL_CTX_set_select_certificate_cb(ctx, check_server_name);
#else
    SSL_CTX_set_tlsext_servername_callback(ctx, check_server_name);
#endif
  } else {
    if (!context->alpn_.empty()) {
      std::string wire = alpn_wire(context->alpn_);
      // Returns 0 on success, unlike most of the API (DEPS.md).
      if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                  static_cast<unsigned>(wire.size())) != 0) {
        return fail_with("setting ALPN");
      }
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  }
  return std::shared_ptr<const Context>(std::move(context));
}

Context::~Context() {
  SSL_CTX_free(ctx_);
}

}  // namespace lmesh::tls
