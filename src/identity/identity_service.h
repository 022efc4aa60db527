// The whole lmesh-identity process: one worker loop with the API server, the CA and the token
// validator; SIGTERM/SIGINT close everything and let the loop end.
#pragma once

#include <memory>
#include <optional>

#include "common/event/worker.h"
#include "common/result.h"
#include "common/service/service_loop.h"
#include "identity/certificate_authority.h"
#include "identity/config.h"
#include "identity/identity_metrics.h"
#include "identity/identity_server.h"
#include "identity/token_validator.h"

namespace lmesh::identity {

class IdentityService {
 public:
  explicit IdentityService(IdentityConfig config);
  ~IdentityService();
  IdentityService(const IdentityService&) = delete;
  IdentityService& operator=(const IdentityService&) = delete;

  // Loads and checks the CA (a bad issuer refuses to start), sets up the token validator and
  // binds the listener, so every misconfiguration fails here, before anything is served.
  Result<void> start();
  // Runs the loop until a signal has stopped the service.
  void run();

 private:
  Result<std::unique_ptr<TokenValidator>> make_validator();
  // The TLS context the API serves with: a certificate for --server-identity.
  Result<std::shared_ptr<const tls::Context>> serving_context();

  IdentityConfig config_;
  // Declaration order is teardown order in reverse: the worker outlives everything on it, and
  // the validator (whose pending callbacks point into the server) goes before the server.
  event::Worker worker_;
  std::optional<CertificateAuthority> ca_;
  IdentityMetrics metrics_;
  std::unique_ptr<IdentityServer> server_;
  std::unique_ptr<TokenValidator> validator_;
  service::ServiceLoop loop_{worker_};
};

}  // namespace lmesh::identity
