// Authorities ("host:port") as the destination service keys services by them: the host
// lowercased (DNS names are case-insensitive, RFC 4343), a trailing root dot dropped, the port
// required. Proxies always ask with host:port (the Host header or the original destination),
// so a missing port is an error, never a default.
#pragma once

#include <string>
#include <string_view>

#include "common/discovery/field_error.h"
#include "common/discovery/profile.h"
#include "common/result.h"

namespace lmesh::destination {

// "Web.Default.svc.cluster.local.:8080" -> "web.default.svc.cluster.local:8080";
// "[::1]:80" stays "[::1]:80". Errors (kInvalidArgument) say what is wrong with the text.
Result<std::string> normalize_authority(std::string_view text);

// The authorities a profile sends traffic to (split backends, route backends, mirrors) are
// normalized like any other, so that they match the services they name. `pointer` is where
// the profile sits in its document, for the error.
discovery::Parsed<void> normalize_profile_targets(discovery::Profile& profile,
                                                  const std::string& pointer);

}  // namespace lmesh::destination
