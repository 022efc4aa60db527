// The proxy's TLS state at one moment: who it is and the contexts its connections use. Made on
// the control thread whenever a certificate arrives, and handed to every worker as an
// immutable snapshot (DESIGN.md "Process model"): connections keep the snapshot they started
// with, new ones take the newest.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/tls/certificate.h"
#include "common/tls/context.h"

namespace lmesh::proxy {

// ALPN between proxies: HTTP/2 for HTTP, and opaque TCP with a small header naming the target
// port (DESIGN.md "Identity").
inline constexpr std::string_view kAlpnH2 = "h2";
inline constexpr std::string_view kAlpnOpaque = "lmesh.io/opaque-v1";
// The admin port also answers HTTP/1.1 clients over TLS (curl, lmesh-tap's proxy streams).
inline constexpr std::string_view kAlpnHttp1 = "http/1.1";

struct MeshTls {
  std::string identity;  // this proxy's DNS identity name
  tls::Certificate leaf;
  std::shared_ptr<const tls::Context> server;         // inbound: terminates meshed TLS
  std::shared_ptr<const tls::Context> client_h2;      // outbound HTTP (ALPN h2)
  std::shared_ptr<const tls::Context> client_opaque;  // outbound TCP (ALPN opaque-v1)
  std::shared_ptr<const tls::Context> client_plain;   // HTTP/1 upgrades (no ALPN)
  // The admin port's TLS (api::Server): ALPN h2 or http/1.1, not the opaque protocol, and a
  // client certificate that chains to the trust anchors, as inbound; who it names decides
  // what the client may do there (the tap service's identity may tap).
  std::shared_ptr<const tls::Context> admin;

  // Builds every context for `credentials`. Every snapshot of a process shares `ticket_key`,
  // so peers resume their sessions across renewals.
  static Result<std::shared_ptr<const MeshTls>> make(
      const std::string& identity, const tls::Credentials& credentials,
      const std::vector<tls::Certificate>& trust_anchors, const tls::TicketKey& ticket_key);
};

}  // namespace lmesh::proxy
