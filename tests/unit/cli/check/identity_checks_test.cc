// The identity category and the date verdicts (src/cli/check/identity_checks.h,
// cert_verdict.h), with CAs made here and judged at chosen times.
#include "cli/check/identity_checks.h"

#include <catch2/catch.hpp>

#include "common/tls/authority.h"

namespace lmesh::cli::check {
namespace {

using std::chrono::hours;
using Clock = std::chrono::system_clock;

constexpr auto kYear = hours(24 * 365);

struct Ca {
  tls::KeyedCertificate root;
  tls::KeyedCertificate issuer;
};

Ca make_ca(std::chrono::seconds validity = kYear) {
  auto root = tls::make_root_ca("root.test", validity, hours(1));
  REQUIRE(root);
  auto issuer = tls::make_intermediate_ca("issuer.test", validity, *root, hours(1));
  REQUIRE(issuer);
  return {*root, *issuer};
}

CaFiles files(const Ca& anchor_from, const Ca& issuer_from) {
  return {"/s/ca/ca.crt", anchor_from.root.certificate.to_pem(), "/s/ca/issuer.crt",
          issuer_from.issuer.certificate.to_pem()};
}

std::vector<Verdict> verdicts(const Category& c) {
  std::vector<Verdict> out;
  for (const CheckResult& r : c.checks) out.push_back(r.verdict);
  return out;
}

constexpr auto S = Verdict::kSuccess;
constexpr auto W = Verdict::kWarning;
constexpr auto E = Verdict::kError;

TEST_CASE("identity: a fresh CA passes all seven checks", "[cli][check]") {
  Ca ca = make_ca();
  Category c = identity_category(files(ca, ca), Clock::now());
  CHECK(c.name == "identity");
  CHECK(verdicts(c) == std::vector<Verdict>{S, S, S, S, S, S, S});
  CHECK(c.checks.back().description == "issuer certificate is issued by the trust anchor");
}

TEST_CASE("identity: under 60 days left warns, expired fails", "[cli][check]") {
  Ca ca = make_ca();
  auto expiry = ca.root.certificate.not_after();
  Category soon = identity_category(files(ca, ca), expiry - hours(24 * 12));
  CHECK(verdicts(soon) == std::vector<Verdict>{S, S, W, S, S, W, S});
  CHECK(soon.checks[2].error.starts_with("trust anchor expires on "));
  CHECK(soon.checks[2].error.ends_with("(in 12 days)"));
  Category late = identity_category(files(ca, ca), expiry + hours(1));
  CHECK(verdicts(late) == std::vector<Verdict>{S, E, E, S, E, E, E});
  CHECK(late.checks[1].error.starts_with("trust anchor expired on "));
}

TEST_CASE("identity: an issuer from another CA does not chain", "[cli][check]") {
  Ca mine = make_ca();
  Ca other = make_ca();
  Category c = identity_category(files(mine, other), Clock::now());
  CHECK(verdicts(c) == std::vector<Verdict>{S, S, S, S, S, S, E});
  CHECK(c.checks.back().error.starts_with("/s/ca/issuer.crt: certificate does not verify"));
}

TEST_CASE("identity: a missing or non-CA file stops what depends on it", "[cli][check]") {
  Ca ca = make_ca();
  CaFiles f = files(ca, ca);
  f.anchor_pem = std::unexpected(Error(ErrorCode::kIo, "cannot open /s/ca/ca.crt: No such file"));
  Category missing = identity_category(f, Clock::now());
  CHECK(verdicts(missing) == std::vector<Verdict>{E, S, S, S});
  CHECK(missing.checks[0].error == "cannot open /s/ca/ca.crt: No such file");
  CHECK(missing.checks[0].hint.find("lmesh identity init --out /s/ca") != std::string::npos);

  f = files(ca, ca);
  f.issuer_pem = "not a certificate";
  CHECK(verdicts(identity_category(f, Clock::now())) == std::vector<Verdict>{S, S, S, E});
}

TEST_CASE("dates: spans and RFC 3339", "[cli][check]") {
  CHECK(format_span(std::chrono::seconds(40)) == "40 seconds");
  CHECK(format_span(std::chrono::seconds(60)) == "1 minute");
  CHECK(format_span(hours(5)) == "5 hours");
  CHECK(format_span(hours(49)) == "2 days");
  CHECK(format_utc(Clock::time_point(std::chrono::seconds(1700000000))) == "2023-11-14T22:13:20Z");
  auto t0 = Clock::time_point(std::chrono::seconds(1700000000));
  CHECK(within_validity("x", t0, t0 + hours(1), t0 - hours(1)).error ==
        "x is not valid before 2023-11-14T22:13:20Z");
  CHECK(within_validity("x", t0, t0 + hours(1), t0).verdict == Verdict::kSuccess);
  CHECK(valid_for_at_least("x", t0 + hours(2), t0, hours(1)).verdict == Verdict::kSuccess);
}

}  // namespace
}  // namespace lmesh::cli::check
