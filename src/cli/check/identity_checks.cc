#include "cli/check/identity_checks.h"

#include <optional>
#include <vector>

#include "common/tls/certificate.h"

namespace lmesh::cli::check {
namespace {

constexpr char kRotateHint[] =
    "make new ones with `lmesh identity init --out DIR --force`, then restart lmesh up";

// "is a CA certificate": the file reads, holds a certificate, and that certificate may sign
// others. Returns the certificate when it does.
std::optional<tls::Certificate> ca_certificate(std::vector<CheckResult>& out, std::string_view what,
                                               const std::string& path,
                                               const Result<std::string>& pem) {
  std::string description = std::string(what) + " is a CA certificate";
  std::string hint = "lmesh up makes it on its first run (`lmesh identity init --out " +
                     path.substr(0, path.rfind('/')) + "`)";
  if (!pem) {
    out.push_back(CheckResult::failure(description, pem.error().describe(), hint));
    return std::nullopt;
  }
  auto cert = tls::Certificate::from_pem(*pem);
  if (!cert) {
    out.push_back(CheckResult::failure(
        description, path + " does not hold a certificate: " + cert.error().describe(), hint));
    return std::nullopt;
  }
  if (!cert->is_ca()) {
    out.push_back(CheckResult::failure(
        description, path + " is not a CA certificate (no basicConstraints CA:TRUE)", hint));
    return std::nullopt;
  }
  out.push_back(CheckResult::success(description));
  return std::move(*cert);
}

CheckResult from_verdict(std::string description, const DateVerdict& v, std::string hint) {
  if (v.verdict == Verdict::kSuccess) return CheckResult::success(std::move(description));
  return {std::move(description), v.verdict, v.error, std::move(hint)};
}

void date_checks(std::vector<CheckResult>& out, std::string_view what, const tls::Certificate& cert,
                 TimePoint now) {
  out.push_back(from_verdict(std::string(what) + " is within its validity period",
                             within_validity(what, cert.not_before(), cert.not_after(), now),
                             kRotateHint));
  out.push_back(from_verdict(std::string(what) + " is valid for at least 60 days",
                             valid_for_at_least(what, cert.not_after(), now, kCaExpiryMargin),
                             kRotateHint));
}

}  // namespace

Category identity_category(const CaFiles& files, TimePoint now) {
  Category category{"identity", {}};
  auto& checks = category.checks;
  auto anchor = ca_certificate(checks, "trust anchor", files.anchor_path, files.anchor_pem);
  if (anchor) date_checks(checks, "trust anchor", *anchor, now);
  auto issuer = ca_certificate(checks, "issuer certificate", files.issuer_path, files.issuer_pem);
  if (issuer) date_checks(checks, "issuer certificate", *issuer, now);
  // Without both certificates there is nothing to chain; their own lines said why.
  if (!anchor || !issuer) return category;
  constexpr char kChained[] = "issuer certificate is issued by the trust anchor";
  if (auto ok = tls::verify_chain(*issuer, {}, {*anchor}, now); !ok) {
    checks.push_back(CheckResult::failure(
        kChained, files.issuer_path + ": " + ok.error().describe(),
        "the issuer and the trust anchor must come from the same `lmesh identity init`; " +
            std::string(kRotateHint)));
  } else {
    checks.push_back(CheckResult::success(kChained));
  }
  return category;
}

}  // namespace lmesh::cli::check
