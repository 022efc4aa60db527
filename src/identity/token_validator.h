// Proof of identity: a token presented with a CSR becomes a ServiceAccountIdentity, or a
// refusal. Two implementations: the Kubernetes TokenReview API (token_review_validator.h) and,
// outside Kubernetes, the bootstrap token file (file_token_validator.h). The interface is
// asynchronous because the Kubernetes one asks the API server.
#pragma once

#include <expected>
#include <functional>
#include <string>

#include "common/tls/identity_name.h"

namespace lmesh::identity {

enum class TokenFailure {
  kUnauthenticated,  // unknown, expired or rejected token: the client's fault (401)
  kUnavailable,      // the validator could not decide (API server down): ours (503)
};

struct TokenRejection {
  TokenFailure failure;
  std::string detail;  // for the error response and the log; never contains the token
};

using TokenResult = std::expected<tls::ServiceAccountIdentity, TokenRejection>;

class TokenValidator {
 public:
  using Done = std::function<void(TokenResult)>;

  virtual ~TokenValidator() = default;

  // Calls `done` exactly once on the loop thread, possibly before validate() returns. If the
  // validator is destroyed first, `done` is dropped without being called.
  virtual void validate(const std::string& token, Done done) = 0;
};

// Bearer tokens travel in JSON and HTTP header fields: printable ASCII without spaces, so that
// a token can never smuggle a header line (CR LF) into a TokenReview request.
bool is_plausible_token(std::string_view token);

}  // namespace lmesh::identity
