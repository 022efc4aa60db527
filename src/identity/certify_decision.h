// What POST /v1/certify decides, as pure functions (no I/O, no clock), so every refusal can
// be tested without a server: the request body, the token verdict and the CSR go in, either
// the checked CSR or a Refusal comes out. certify_handler.h does the I/O around them.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "common/tls/csr.h"
#include "common/tls/identity_name.h"
#include "identity/token_validator.h"

namespace lmesh::identity {

// Refusal reasons: the `reason` label of identity_cert_refused_total.
namespace reason {
inline constexpr std::string_view kBadRequest = "bad_request";
inline constexpr std::string_view kTooLarge = "too_large";
inline constexpr std::string_view kUnauthenticated = "unauthenticated";
inline constexpr std::string_view kIdentityMismatch = "identity_mismatch";
inline constexpr std::string_view kMalformedCsr = "malformed_csr";
inline constexpr std::string_view kBadSignature = "bad_signature";
inline constexpr std::string_view kUnsupportedKey = "unsupported_key";
inline constexpr std::string_view kValidatorUnavailable = "validator_unavailable";
inline constexpr std::string_view kIssuerNotReady = "issuer_not_ready";
inline constexpr std::string_view kInternal = "internal";
}  // namespace reason

// A refused request: HTTP status, metric label, and the {"error","detail"} body.
struct Refusal {
  int status;
  std::string_view reason;
  std::string error;
  std::string detail;
};

struct CertifyRequest {
  std::string token;
  std::string csr_pem;
};

// {"token":"...","csr":"<PEM>"}: both present, both non-empty strings; other fields are
// ignored (room for later versions). Else 400 bad request.
std::expected<CertifyRequest, Refusal> parse_certify_request(std::string_view body);

// A token validator's refusal as the API states it: 401 or 503.
Refusal refusal_for(const TokenRejection& rejection);

// The CSR's problem as the API states it: 400 with the tls module's reason.
Refusal refusal_for(const tls::CsrRejection& rejection);

// Whether the names a CSR asks for are exactly `who`: every DNS SAN is its DNS identity name,
// every URI SAN its SPIFFE ID, and the CN (if any) its DNS identity name. A CSR naming nobody
// is refused too: a proxy always says who it means to be, so an empty CSR is a mistake.
// Returns the refusal (403 identity mismatch), or nothing when the CSR may be signed.
std::optional<Refusal> check_requested_identity(const tls::ServiceAccountIdentity& who,
                                                const tls::SubjectNames& requested);

// The whole decision after the token is known: parse and check the CSR, then its names.
std::expected<tls::CertificateRequest, Refusal> decide(const tls::ServiceAccountIdentity& who,
                                                       std::string_view csr_pem);

}  // namespace lmesh::identity
