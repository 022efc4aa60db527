#include "identity/certify_decision.h"

#include <nlohmann/json.hpp>

namespace lmesh::identity {
namespace {

Refusal bad_request(std::string detail) {
  return Refusal{400, reason::kBadRequest, "bad request", std::move(detail)};
}

}  // namespace

std::expected<CertifyRequest, Refusal> parse_certify_request(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::unexpected(bad_request("the body is not JSON"));
  if (!j.is_object()) return std::unexpected(bad_request("the body is not a JSON object"));
  CertifyRequest out;
  for (auto [field, into] : {std::pair{"token", &out.token}, std::pair{"csr", &out.csr_pem}}) {
    auto it = j.find(field);
    if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      return std::unexpected(
          bad_request(std::string("\"") + field + "\" must be a non-empty string"));
    }
    *into = it->get<std::string>();
  }
  return out;
}

Refusal refusal_for(const TokenRejection& rejection) {
  if (rejection.failure == TokenFailure::kUnavailable) {
    return Refusal{503, reason::kValidatorUnavailable, "unavailable", rejection.detail};
  }
  return Refusal{401, reason::kUnauthenticated, "unauthenticated", rejection.detail};
}

Refusal refusal_for(const tls::CsrRejection& rejection) {
  std::string_view label = reason::kMalformedCsr;
  if (rejection.problem == tls::CsrProblem::kBadSignature) label = reason::kBadSignature;
  if (rejection.problem == tls::CsrProblem::kUnsupportedKey) label = reason::kUnsupportedKey;
  return Refusal{400, label, std::string(tls::to_string(rejection.problem)), rejection.detail};
}

std::optional<Refusal> check_requested_identity(const tls::ServiceAccountIdentity& who,
                                                const tls::SubjectNames& requested) {
  auto mismatch = [&](std::string detail) {
    return Refusal{403, reason::kIdentityMismatch, "identity mismatch",
                   std::move(detail) + "; the token proves " + who.dns_name()};
  };
  if (requested.dns.empty() && requested.uris.empty() && requested.common_name.empty()) {
    return mismatch("the CSR names no identity (no DNS or URI SAN, no CN)");
  }
  const std::string dns = who.dns_name();
  const std::string spiffe = who.spiffe_id();
  for (const std::string& name : requested.dns) {
    if (name != dns) return mismatch("the CSR asks for DNS name " + name);
  }
  for (const std::string& uri : requested.uris) {
    if (uri != spiffe) return mismatch("the CSR asks for URI " + uri);
  }
  if (!requested.common_name.empty() && requested.common_name != dns) {
    return mismatch("the CSR asks for CN " + requested.common_name);
  }
  return std::nullopt;
}

std::expected<tls::CertificateRequest, Refusal> decide(const tls::ServiceAccountIdentity& who,
                                                       std::string_view csr_pem) {
  auto csr = tls::CertificateRequest::from_pem(csr_pem);
  if (!csr) return std::unexpected(refusal_for(csr.error()));
  if (auto refused = check_requested_identity(who, csr->names())) {
    return std::unexpected(std::move(*refused));
  }
  return std::move(*csr);
}

}  // namespace lmesh::identity
