// lmesh-tap's own mesh identity and the TLS it speaks to the proxies' admin ports (README.md
// "Identity"). A proxy with an identity serves GET /tap only to a client proving the tap
// service's identity over mTLS, so with --identity-addr set this keeps a certificate from
// lmesh-identity (identity::IdentityClient, renewed before it expires) and turns it into the
// client context that proxy streams and scrapes connect with.
//
// One loop (the service's worker), so the current context is a plain member: each connection
// takes the newest one when it is made, and a renewal applies to the next connection.
#pragma once

#include <memory>
#include <vector>

#include "common/api/client.h"
#include "common/event/worker.h"
#include "common/identity/identity_client.h"
#include "common/metrics/snapshot.h"
#include "common/result.h"
#include "common/tls/context.h"
#include "tap/config.h"
#include "tap/pod.h"

namespace lmesh::tap {

class TapIdentity {
 public:
  // `config` must outlive this object.
  TapIdentity(event::Worker& worker, const TapConfig& config);
  ~TapIdentity();
  TapIdentity(const TapIdentity&) = delete;
  TapIdentity& operator=(const TapIdentity&) = delete;

  // With identity on: reads --trust-anchors (an error names it) and asks for the first
  // certificate. Off: nothing.
  Result<void> start();
  // Closes the identity client (its connection and renewal timer), so the loop can end.
  void stop();

  // /ready: off, or a certificate is held.
  bool ready() const { return !config_.identity_enabled() || context_ != nullptr; }

  // Sets up `options` to reach `pod`'s proxy for GET /tap. A pod with an identity is reached
  // over mTLS: SNI and the name its certificate must carry are that identity (so a proxy that
  // is not the pod lmesh-destination announced fails the handshake). Plaintext for a pod
  // without identity, and when identity is off (such a proxy then refuses with 403 itself).
  // Fails while identity is on but no certificate has arrived yet.
  Result<void> secure_tap(const Pod& pod, api::ClientOptions& options) const;
  // The same for GET /metrics, which proxies also serve in plaintext: before the first
  // certificate a scrape goes out in plaintext rather than not at all.
  void secure_scrape(const Pod& pod, api::ClientOptions& options) const;

  // identity_cert_expiration_timestamp_seconds and identity_cert_refresh_total, as the proxy
  // exposes them; nothing when identity is off.
  void append_metrics(metrics::Snapshot& snapshot) const;

 private:
  Result<void> publish(const tls::Credentials& credentials);

  event::Worker& worker_;
  const TapConfig& config_;
  std::vector<tls::Certificate> trust_anchors_;
  std::unique_ptr<identity::IdentityClient> client_;
  // ALPN http/1.1: proxy streams and scrapes speak HTTP/1.1 (api::ClientProtocol::kHttp1), and
  // a context offering h2 could have the admin port pick a protocol the client does not speak.
  std::shared_ptr<const tls::Context> context_;
};

}  // namespace lmesh::tap
