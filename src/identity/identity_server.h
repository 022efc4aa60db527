// lmesh-identity's HTTP API (HTTP/2 and HTTP/1.1 on one port): POST /v1/certify, GET /metrics,
// GET /ready (200 only while the issuer can sign), GET /live.
#pragma once

#include <cstddef>
#include <memory>

#include "common/api/server.h"
#include "common/event/worker.h"
#include "common/net/socket_address.h"
#include "common/result.h"
#include "common/tls/context.h"
#include "identity/certificate_authority.h"
#include "identity/certify_handler.h"
#include "identity/identity_metrics.h"
#include "identity/token_validator.h"

namespace lmesh::identity {

// A CSR is ~0.5 KiB of PEM; 64 KiB leaves room for anything legitimate and bounds the rest.
inline constexpr size_t kMaxCertifyBodyBytes = 64 << 10;

class IdentityServer {
 public:
  // `ca`, `validator` and `metrics` must outlive the server. `tls`: the API also answers TLS
  // with this context (proxies reach it so, verifying who it is); plaintext stays for curl.
  IdentityServer(event::Worker& worker, const CertificateAuthority& ca, TokenValidator& validator,
                 IdentityMetrics& metrics, IssuancePolicy policy,
                 std::shared_ptr<const tls::Context> tls = nullptr);

  Result<net::SocketAddress> listen(const net::SocketAddress& address) {
    return server_.listen(address);
  }
  void close() { server_.close(); }
  // For service::ServiceLoop, which closes the server when the service stops.
  api::Server& api_server() { return server_; }

 private:
  const CertificateAuthority& ca_;
  IdentityMetrics& metrics_;
  CertifyHandler certify_;
  api::Server server_;
};

}  // namespace lmesh::identity
