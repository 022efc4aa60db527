#include "tap/target.h"

#include <algorithm>
#include <array>
#include <utility>

namespace lmesh::tap {
namespace {

constexpr std::array<std::pair<std::string_view, TargetKind>, 12> kKinds = {{
    {"deploy", TargetKind::kDeploy},
    {"deployment", TargetKind::kDeploy},
    {"deployments", TargetKind::kDeploy},
    {"pod", TargetKind::kPod},
    {"po", TargetKind::kPod},
    {"pods", TargetKind::kPod},
    {"svc", TargetKind::kSvc},
    {"service", TargetKind::kSvc},
    {"services", TargetKind::kSvc},
    {"ns", TargetKind::kNs},
    {"namespace", TargetKind::kNs},
    {"namespaces", TargetKind::kNs},
}};

// Kubernetes object names (RFC 1123 labels and subdomains): lowercase alphanumerics, '-' and
// '.', starting and ending with an alphanumeric. Anything else cannot name a resource, and
// would only reach lmesh-destination to be refused there.
bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  for (char c : name) {
    if (!alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

}  // namespace

bool valid_namespace(std::string_view ns) {
  if (ns.empty() || ns.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(ns.front()) || !alnum(ns.back())) return false;
  return std::all_of(ns.begin(), ns.end(), [&](char c) { return alnum(c) || c == '-'; });
}

std::string_view to_string(TargetKind kind) {
  switch (kind) {
    case TargetKind::kDeploy: return "deploy";
    case TargetKind::kPod: return "pod";
    case TargetKind::kSvc: return "svc";
    case TargetKind::kNs: return "ns";
  }
  return "deploy";
}

std::string Target::to_string() const {
  std::string out(tap::to_string(kind));
  if (!name.empty()) out.append("/").append(name);
  return out;
}

Result<Target> parse_target(std::string_view text) {
  std::string_view kind_text = text;
  std::string_view name;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    kind_text = text.substr(0, slash);
    name = text.substr(slash + 1);
    if (!valid_name(name)) {
      return fail(ErrorCode::kInvalidArgument,
                  "bad name '" + std::string(name) +
                      "' in target (lowercase letters, digits, '-' and '.')");
    }
  }
  for (const auto& [spelling, kind] : kKinds) {
    if (spelling == kind_text) return Target{kind, std::string(name)};
  }
  return fail(ErrorCode::kInvalidArgument,
              "unknown kind '" + std::string(kind_text) +
                  "' in target (deploy, pod, svc or ns, as KIND or KIND/NAME)");
}

}  // namespace lmesh::tap
