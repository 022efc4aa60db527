#include "destination/kubernetes/pod_owner.h"

#include "common/text/ascii.h"

namespace lmesh::destination::kubernetes {
namespace {

using text::ascii_lower;

std::string deployment_of(std::string_view replica_set, std::string_view template_hash) {
  if (!template_hash.empty()) {
    std::string suffix = "-" + std::string(template_hash);
    if (replica_set.size() > suffix.size() && replica_set.ends_with(suffix)) {
      return std::string(replica_set.substr(0, replica_set.size() - suffix.size()));
    }
  }
  size_t dash = replica_set.rfind('-');
  if (dash == std::string_view::npos || dash == 0) return std::string(replica_set);
  return std::string(replica_set.substr(0, dash));
}

}  // namespace

std::string workload_of(const PodOwner& owner, std::string_view pod_name,
                        std::string_view template_hash) {
  if (owner.kind.empty() || owner.name.empty()) return "pod/" + std::string(pod_name);
  if (owner.kind == "ReplicaSet") return "deploy/" + deployment_of(owner.name, template_hash);
  return ascii_lower(owner.kind) + "/" + owner.name;
}

}  // namespace lmesh::destination::kubernetes
