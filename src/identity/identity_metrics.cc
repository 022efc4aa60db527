#include "identity/identity_metrics.h"

#include "common/metrics/build_info.h"
#include "common/metrics/process_metrics.h"
#include "common/metrics/prometheus_text.h"
#include "identity/certify_decision.h"

namespace lmesh::identity {

IdentityMetrics::IdentityMetrics()
    : issued_(registry_.counter("identity_cert_issued_total", "Leaf certificates issued", {})
                  .get(std::span<const std::string_view>())),
      refused_(registry_.counter("identity_cert_refused_total",
                                 "Certify requests refused, by reason", {"reason"},
                                 /*max_series=*/32)),
      issuer_expiry_(registry_
                         .gauge("identity_issuer_expiry_timestamp_seconds",
                                "When the issuer certificate expires (Unix time)", {})
                         .get(std::span<const std::string_view>())) {
  // Every reason shows up from the start, at 0, so rate() and alerts see a series at once.
  for (std::string_view r :
       {reason::kBadRequest, reason::kTooLarge, reason::kUnauthenticated, reason::kIdentityMismatch,
        reason::kMalformedCsr, reason::kBadSignature, reason::kUnsupportedKey,
        reason::kValidatorUnavailable, reason::kIssuerNotReady, reason::kInternal}) {
    refused_.get({r});
  }
}

void IdentityMetrics::set_issuer_expiry(std::chrono::system_clock::time_point not_after) {
  issuer_expiry_.set(
      std::chrono::duration_cast<std::chrono::seconds>(not_after.time_since_epoch()).count());
}

std::string IdentityMetrics::render() const {
  metrics::Snapshot snapshot = registry_.snapshot();
  metrics::append_process_metrics(snapshot);
  metrics::append_build_info(snapshot, "lmesh-identity");
  return metrics::render_prometheus(snapshot);
}

}  // namespace lmesh::identity
