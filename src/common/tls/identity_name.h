// The mesh's names for a workload identity (DESIGN.md "Identity"): a Kubernetes
// ServiceAccount in a namespace, written as a DNS name and as a SPIFFE ID.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace lmesh::tls {

inline constexpr std::string_view kTrustDomain = "cluster.local";
// Every mesh identity's DNS name ends with this.
inline constexpr std::string_view kIdentityNameSuffix =
    ".serviceaccount.identity.lmesh.cluster.local";

struct ServiceAccountIdentity {
  std::string ns;  // namespace
  std::string sa;  // service account

  // "<sa>.<ns>.serviceaccount.identity.lmesh.cluster.local"
  std::string dns_name() const;
  // "spiffe://cluster.local/ns/<ns>/sa/<sa>"
  std::string spiffe_id() const;

  // Parses a DNS identity name; nullopt if it is not one.
  static std::optional<ServiceAccountIdentity> from_dns_name(std::string_view name);
  // Parses "system:serviceaccount:<ns>:<sa>" (a TokenReview username).
  static std::optional<ServiceAccountIdentity> from_k8s_username(std::string_view username);
  // Parses "<ns>/<sa>" (the identity token file's notation).
  static std::optional<ServiceAccountIdentity> from_slash_form(std::string_view ns_sa);

  bool operator==(const ServiceAccountIdentity&) const = default;
};

// A flag that names a mesh identity (--tap-identity, --server-identity, lmesh-tap's
// --identity-name): stores it, or refuses what lmesh-identity would never issue, so that a
// typo fails at start instead of as refused certificates or 403s later.
Result<void> set_identity_name(std::string& out, std::string_view value);

}  // namespace lmesh::tls
