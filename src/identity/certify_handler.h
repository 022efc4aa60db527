// POST /v1/certify: JSON in, token checked by the validator, CSR checked against the token's
// identity, leaf signed. Every refusal is answered and counted here and nowhere else.
#pragma once

#include <chrono>
#include <memory>

#include "common/api/request.h"
#include "common/api/response.h"
#include "identity/certificate_authority.h"
#include "identity/certify_decision.h"
#include "identity/identity_metrics.h"
#include "identity/token_validator.h"

namespace lmesh::identity {

struct IssuancePolicy {
  std::chrono::seconds lifetime{std::chrono::hours(24)};
  std::chrono::seconds clock_skew{20};
};

class CertifyHandler {
 public:
  // All three must outlive the handler; the validator's pending callbacks point at it, so
  // the validator must be destroyed first.
  CertifyHandler(const CertificateAuthority& ca, TokenValidator& validator,
                 IdentityMetrics& metrics, IssuancePolicy policy)
      : ca_(ca), validator_(validator), metrics_(metrics), policy_(policy) {}

  void handle(const api::Request& request, std::shared_ptr<api::Response> response);

  // Answers and counts a refusal.
  void refuse(api::Response& response, const Refusal& refusal);

 private:
  void certify(const tls::ServiceAccountIdentity& who, const std::string& csr_pem,
               api::Response& response);

  const CertificateAuthority& ca_;
  TokenValidator& validator_;
  IdentityMetrics& metrics_;
  IssuancePolicy policy_;
};

}  // namespace lmesh::identity
