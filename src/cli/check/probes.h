// The network half of `lmesh check`: plain HTTP/1.1 GETs (every lmesh server answers
// HTTP/1.1 in plaintext, DESIGN.md "Wire API") and TLS handshakes with proxies' admin ports,
// all at once on one loop, each bounded in time. A mesh of many pods is checked in about the
// time of its slowest answer, not of their sum.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cli/check/observations.h"
#include "common/tls/context.h"

namespace lmesh::cli::check {

struct HttpProbe {
  std::string addr;  // HOST:PORT
  std::string path;  // "/ready"
  HttpObservation* out;
};

// A handshake that verifies the server's certificate against the trust anchors of `context`
// and that it names `identity`. The admin port also asks for a client certificate, which
// `lmesh check` does not have: in TLS 1.3 the client has verified the server before the server
// sees that, so the handshake's client side completes and says what is needed.
struct TlsProbe {
  std::string addr;
  std::string identity;
  TlsObservation* out;
};

struct ProbeSet {
  std::vector<HttpProbe> http;
  std::vector<TlsProbe> tls;
  std::shared_ptr<const tls::Context> tls_context;  // required when `tls` is not empty
};

// Runs every probe and fills in its outcome; returns after at most about `timeout`. A probe
// without an answer by then is "timed out after 2s".
void run_probes(const ProbeSet& probes, std::chrono::milliseconds timeout);

// A client context that trusts `anchors_pem` and presents nothing, for TlsProbe.
Result<std::shared_ptr<const tls::Context>> probe_tls_context(const std::string& anchors_pem);

}  // namespace lmesh::cli::check
