// What a TLS endpoint presents and trusts, built once and shared by every connection that uses
// it: an immutable snapshot (DESIGN.md "Process model"). When the proxy's certificate is
// renewed a new Context is made and published; connections keep the one they started with.
//
// Between proxies the mesh speaks TLS 1.3 only, with ECDSA P-256 certificates, and both sides
// authenticate (DESIGN.md "Identity").
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/tls/certificate.h"
#include "common/tls/key.h"

struct ssl_ctx_st;

namespace lmesh::tls {

// A leaf certificate, the chain that links it to a trust anchor, and its key.
struct Credentials {
  Certificate leaf;
  std::vector<Certificate> chain;  // intermediates, leaf's issuer first
  PrivateKey key;
};

// Session tickets are sealed with this key. Every server context of a process shares one, so a
// client resumes across workers and across certificate renewals. BoringSSL takes 48 bytes of
// key material, OpenSSL 3 takes 80; each uses the front of this array.
using TicketKey = std::array<uint8_t, 80>;
TicketKey random_ticket_key();

enum class Role { kClient, kServer };

struct ContextOptions {
  Role role = Role::kClient;
  // Presented to the peer: the server's certificate, or the client's for mutual TLS.
  std::optional<Credentials> credentials;
  // Peers must chain to one of these (a bundle may hold two roots during a rotation).
  std::vector<Certificate> trust_anchors;
  // Servers: refuse clients without a certificate that verifies (mutual TLS).
  bool require_client_certificate = true;
  // ALPN protocols: what a client offers, or what a server accepts, in preference order.
  std::vector<std::string> alpn;
  // Servers: the ticket key (random when unset, so tickets only work within this context).
  std::optional<TicketKey> ticket_key;
  // Also TLS 1.2: for servers outside the mesh (the Kubernetes API server). Between proxies
  // the mesh speaks TLS 1.3 only.
  bool allow_tls12 = false;
};

class Context {
 public:
  static Result<std::shared_ptr<const Context>> make(const ContextOptions& options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Role role() const { return role_; }
  const std::vector<std::string>& alpn() const { return alpn_; }
  ssl_ctx_st* native() const { return ctx_; }

 private:
  Context(ssl_ctx_st* ctx, Role role, std::vector<std::string> alpn)
      : ctx_(ctx), role_(role), alpn_(std::move(alpn)) {}
  ssl_ctx_st* ctx_;
  Role role_;
  std::vector<std::string> alpn_;
  std::string alpn_wire_;  // servers: what the ALPN selection callback reads
};

}  // namespace lmesh::tls
