// Tokens checked by Kubernetes: the proxy's ServiceAccount token goes to the API server's
// TokenReview API (POST /apis/authentication.k8s.io/v1/tokenreviews), which says whether it is
// valid for our audience and whose it is (status.user.username =
// "system:serviceaccount:<ns>:<sa>"). lmesh-identity authenticates itself with its own
// in-cluster ServiceAccount token (Authorization: Bearer), re-read periodically because the
// kubelet rotates projected tokens.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/api/client.h"
#include "common/event/worker.h"
#include "common/net/socket_address.h"
#include "common/result.h"
#include "identity/token_validator.h"

namespace lmesh::identity {

inline constexpr std::string_view kTokenReviewPath = "/apis/authentication.k8s.io/v1/tokenreviews";
// The audience proxies request their tokens for (a projected token with this audience).
inline constexpr std::string_view kTokenAudience = "identity.lmesh.io";

struct TokenReviewOptions {
  net::SocketAddress api_server;
  // Our own ServiceAccount token, sent as the bearer credential.
  std::string credential_file;
  std::chrono::milliseconds credential_refresh{60'000};
  std::chrono::milliseconds request_timeout{5'000};
  // HTTPS: the API server's certificate is verified against this context's anchors and must
  // name `server_name` (a DNS name or the address). Null: plain HTTP (kubectl proxy).
  std::shared_ptr<const tls::Context> tls;
  std::string server_name;
};

class TokenReviewValidator final : public TokenValidator {
 public:
  // Reads the credential file now: without it every review would fail.
  static Result<std::unique_ptr<TokenReviewValidator>> open(event::Worker& worker,
                                                            TokenReviewOptions options);
  ~TokenReviewValidator() override;

  void validate(const std::string& token, Done done) override;

  // The TokenReview request body for `token`.
  static std::string review_body(const std::string& token);
  // Reads the API server's answer (HTTP status and body) into an identity or a rejection.
  static TokenResult read_review(int status, std::string_view body);

 private:
  TokenReviewValidator(event::Worker& worker, TokenReviewOptions options);
  Result<void> refresh_credential();

  event::Worker& worker_;
  TokenReviewOptions options_;
  api::Client client_;
  std::string credential_;
  std::chrono::steady_clock::time_point credential_read_at_;
  uint64_t next_call_id_ = 0;
  // Reviews in flight; dropping one cancels it.
  std::unordered_map<uint64_t, std::unique_ptr<api::Call>> calls_;
};

}  // namespace lmesh::identity
