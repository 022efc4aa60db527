#include "common/tls/identity_name.h"

#include <fmt/format.h>

namespace lmesh::tls {
namespace {

// A Kubernetes name (RFC 1123 label): lowercase alphanumerics and '-', 1..63, no '-' at ends.
bool is_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<ServiceAccountIdentity> checked(std::string_view ns, std::string_view sa) {
  // ServiceAccount names may contain dots (DNS subdomains); the DNS identity name could then
  // not be split back unambiguously, so the mesh accepts labels only, as Linkerd does in effect.
  if (!is_dns_label(ns) || !is_dns_label(sa)) return std::nullopt;
  return ServiceAccountIdentity{std::string(ns), std::string(sa)};
}

}  // namespace

std::string ServiceAccountIdentity::dns_name() const {
  return fmt::format("{}.{}{}", sa, ns, kIdentityNameSuffix);
}

std::string ServiceAccountIdentity::spiffe_id() const {
  return fmt::format("spiffe://{}/ns/{}/sa/{}", kTrustDomain, ns, sa);
}

std::optional<ServiceAccountIdentity> ServiceAccountIdentity::from_dns_name(std::string_view name) {
  if (!name.ends_with(kIdentityNameSuffix)) return std::nullopt;
  name.remove_suffix(kIdentityNameSuffix.size());
  size_t dot = name.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  return checked(name.substr(dot + 1), name.substr(0, dot));
}

std::optional<ServiceAccountIdentity> ServiceAccountIdentity::from_k8s_username(
    std::string_view username) {
  constexpr std::string_view kPrefix = "system:serviceaccount:";
  if (!username.starts_with(kPrefix)) return std::nullopt;
  username.remove_prefix(kPrefix.size());
  size_t colon = username.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return checked(username.substr(0, colon), username.substr(colon + 1));
}

std::optional<ServiceAccountIdentity> ServiceAccountIdentity::from_slash_form(
    std::string_view ns_sa) {
  size_t slash = ns_sa.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return checked(ns_sa.substr(0, slash), ns_sa.substr(slash + 1));
}

Result<void> set_identity_name(std::string& out, std::string_view value) {
  if (!ServiceAccountIdentity::from_dns_name(value)) {
    return fail(ErrorCode::kInvalidArgument,
                "expected <sa>.<ns>.serviceaccount.identity.lmesh.cluster.local");
  }
  out = std::string(value);
  return {};
}

}  // namespace lmesh::tls
