// The "identity" category: the mesh's trust anchor and issuer (`<state>/ca/ca.crt` and
// `issuer.crt`, made by `lmesh identity init`) parse, are CAs, are valid now and for a while
// yet, and chain. Pure: the files' contents and the time are given.
#pragma once

#include <chrono>
#include <string>

#include "cli/check/cert_verdict.h"
#include "cli/check/check_report.h"
#include "common/result.h"

namespace lmesh::cli::check {

// Linkerd's margin for both certificates: time to rotate before anything breaks.
inline constexpr std::chrono::seconds kCaExpiryMargin = std::chrono::hours(24 * 60);

struct CaFiles {
  std::string anchor_path;
  Result<std::string> anchor_pem;  // or why it could not be read
  std::string issuer_path;
  Result<std::string> issuer_pem;
};

Category identity_category(const CaFiles& files, TimePoint now);

}  // namespace lmesh::cli::check
