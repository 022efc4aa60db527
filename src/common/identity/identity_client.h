// Gets and keeps a workload's certificate from lmesh-identity (DESIGN.md "Identity"): at start
// it makes an ECDSA P-256 key in memory (never written anywhere), sends lmesh-identity a CSR
// with its token, and publishes the credentials once a certificate that checks out arrives. It
// renews at 70 % of the certificate's life (with jitter, so a fleet started together does not
// renew together) and retries failures with exponential backoff, serving with the current
// certificate meanwhile: an identity-service outage costs nothing until the certificate
// expires.
//
// Runs on one loop (the proxy's control thread); what the credentials become (the proxy's
// MeshTls contexts, a controller's client context) is the caller's, in `publish`. Shared by
// every mesh process that proves who it is: the proxy, and lmesh-tap towards the proxies'
// admin ports.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/api/client.h"
#include "common/event/timer.h"
#include "common/event/worker.h"
#include "common/metrics/snapshot.h"
#include "common/net/socket_address.h"
#include "common/tls/certificate.h"
#include "common/tls/context.h"
#include "common/tls/key.h"

namespace lmesh::identity {

struct IdentitySettings {
  net::SocketAddress identity_addr;  // lmesh-identity's API
  std::string name;                  // this workload's identity (a DNS SAN)
  std::string token_file;            // read before every request: tokens rotate
  std::string server_name;           // the identity lmesh-identity proves over TLS
  std::vector<tls::Certificate> trust_anchors;
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{60'000};
};

class IdentityClient {
 public:
  // Takes newly issued credentials (checked: our key, our name, a chain to the anchors). An
  // error (the caller could not use them) counts as a failed refresh and is retried.
  using Publish = std::function<Result<void>(const tls::Credentials& credentials)>;

  static Result<std::unique_ptr<IdentityClient>> make(event::Worker& control,
                                                      IdentitySettings settings, Publish publish);
  ~IdentityClient();
  IdentityClient(const IdentityClient&) = delete;
  IdentityClient& operator=(const IdentityClient&) = delete;

  // Asks for the first certificate.
  void start();
  bool has_certificate() const { return current_.has_value(); }
  // identity_cert_expiration_timestamp_seconds and identity_cert_refresh_total.
  void append_metrics(metrics::Snapshot& snapshot) const;

 private:
  IdentityClient(event::Worker& control, IdentitySettings settings, Publish publish,
                 tls::PrivateKey key, std::string csr_pem, api::ClientOptions client_options);
  void request();
  void on_response(Result<api::ClientResponse> response);
  Result<tls::Credentials> accept(const api::ClientResponse& response) const;
  void retry(const Error& why);
  void schedule(std::chrono::milliseconds after);

  event::Worker& control_;
  IdentitySettings settings_;
  Publish publish_;
  tls::PrivateKey key_;
  std::string csr_pem_;
  api::Client client_;
  std::unique_ptr<api::Call> call_;
  event::Timer timer_;
  std::mt19937_64 rng_;
  std::chrono::milliseconds backoff_;
  std::optional<tls::Certificate> current_;  // the leaf in use
  uint64_t refreshed_ = 0;
  uint64_t failed_ = 0;
};

}  // namespace lmesh::identity
