#include "destination/pod_target.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "common/text/ascii.h"

namespace lmesh::destination {
namespace {

using text::ascii_lower;

// kubectl's names for the kinds a target may have (src/tap/README.md "Targets").
std::optional<TargetKind> kind_named(std::string_view text) {
  std::string kind = ascii_lower(text);
  if (kind == "deploy" || kind == "deployment" || kind == "deployments") return TargetKind::kDeploy;
  if (kind == "pod" || kind == "po" || kind == "pods") return TargetKind::kPod;
  if (kind == "svc" || kind == "service" || kind == "services") return TargetKind::kService;
  if (kind == "ns" || kind == "namespace" || kind == "namespaces") return TargetKind::kNamespace;
  return std::nullopt;
}

std::string_view short_name(TargetKind kind) {
  switch (kind) {
    case TargetKind::kDeploy: return "deploy";
    case TargetKind::kPod: return "pod";
    case TargetKind::kService: return "svc";
    case TargetKind::kNamespace: return "ns";
    case TargetKind::kEverything: break;
  }
  return "";
}

Result<void> check_name(TargetKind kind, std::string_view name, std::string_view target) {
  // Services and namespaces are DNS labels; pods and deployments subdomains.
  bool label = kind == TargetKind::kService || kind == TargetKind::kNamespace;
  if (label ? is_dns_label(name) : is_dns_subdomain(name)) return {};
  return fail(ErrorCode::kInvalidArgument, "target " + std::string(target) + ": \"" +
                                               std::string(name) + "\" is not a " +
                                               (label ? "DNS-1123 label" : "DNS-1123 subdomain") +
                                               " (lower-case letters, digits and '-')");
}

// "host:port" -> host (authorities are normalized: lower case, port always present).
std::string_view host_of(std::string_view authority) {
  size_t colon = authority.rfind(':');
  return colon == std::string_view::npos ? authority : authority.substr(0, colon);
}

bool in_namespace(const PodSpec& pod, const Target& target) {
  return pod.ns == target.ns;
}

// A service's endpoints name pods by labels.pod, and by labels.namespace when they say it; a
// pod is behind the service when both agree with it.
struct PodRef {
  std::string ns;  // empty: any namespace
  std::string name;
  auto operator<=>(const PodRef&) const = default;
};

std::set<PodRef> pods_behind(const ServiceSpec& service) {
  std::set<PodRef> out;
  for (const discovery::Endpoint& e : service.endpoints) {
    auto pod = e.labels.find("pod");
    if (pod == e.labels.end() || pod->second.empty()) continue;
    auto ns = e.labels.find("namespace");
    out.insert({ns == e.labels.end() ? std::string() : ns->second, pod->second});
  }
  return out;
}

bool refers_to(const std::set<PodRef>& refs, const PodSpec& pod) {
  return refs.contains({pod.ns, pod.name}) || refs.contains({std::string(), pod.name});
}

bool service_selected(const ServiceSpec& service, const Target& target,
                      std::string_view cluster_domain) {
  auto name = service_name_in(host_of(service.authority), target.ns, cluster_domain);
  return name && (target.name.empty() || *name == target.name);
}

}  // namespace

std::string Target::describe() const {
  switch (kind) {
    case TargetKind::kEverything: return "every namespace";
    case TargetKind::kNamespace:
      return name.empty() ? std::string("ns (every namespace)") : "ns/" + name;
    default: break;
  }
  std::string what(short_name(kind));
  if (!name.empty()) what += "/" + name;
  return what + " in namespace " + ns;
}

Result<Target> parse_target(std::optional<std::string_view> target,
                            std::optional<std::string_view> ns) {
  Target out;
  out.ns = ns && !ns->empty() ? std::string(*ns) : std::string(kDefaultNamespace);
  if (!is_dns_label(out.ns)) {
    return fail(ErrorCode::kInvalidArgument,
                "namespace \"" + out.ns +
                    "\" is not a DNS-1123 label (lower-case letters, digits and '-')");
  }
  if (!target || target->empty()) return out;
  size_t slash = target->find('/');
  std::string_view kind_text = target->substr(0, slash);
  auto kind = kind_named(kind_text);
  if (!kind) {
    return fail(ErrorCode::kInvalidArgument, "target " + std::string(*target) +
                                                 ": unknown kind \"" + std::string(kind_text) +
                                                 "\" (deploy, pod, svc or ns)");
  }
  out.kind = *kind;
  if (slash != std::string_view::npos) {
    std::string_view name = target->substr(slash + 1);
    if (auto ok = check_name(*kind, name, *target); !ok) return fail(ok.error());
    out.name = std::string(name);
  }
  if (out.kind == TargetKind::kNamespace && !out.name.empty()) out.ns = out.name;
  return out;
}

std::optional<std::string> service_name_in(std::string_view host, std::string_view ns,
                                           std::string_view cluster_domain) {
  size_t dot = host.find('.');
  std::string_view name = host.substr(0, dot);
  if (name.empty()) return std::nullopt;
  if (dot == std::string_view::npos) return std::string(name);  // a short name: any namespace
  std::string_view rest = host.substr(dot + 1);
  std::string svc = std::string(ns) + ".svc";
  if (rest == ns || rest == svc || rest == svc + "." + std::string(cluster_domain)) {
    return std::string(name);
  }
  return std::nullopt;
}

std::vector<PodMatch> select_pods(const Target& target, const PodMap& pods,
                                  const std::vector<const ServiceSpec*>& services,
                                  std::string_view cluster_domain) {
  // Which services point at which pods, computed once for the answer's `services` fields.
  std::vector<std::pair<const ServiceSpec*, std::set<PodRef>>> behind;
  behind.reserve(services.size());
  for (const ServiceSpec* s : services) behind.emplace_back(s, pods_behind(*s));

  std::set<PodRef> via_services;  // svc targets: the pods behind the selected services
  if (target.kind == TargetKind::kService) {
    for (const auto& [service, refs] : behind) {
      if (service_selected(*service, target, cluster_domain)) {
        via_services.insert(refs.begin(), refs.end());
      }
    }
  }
  auto selected = [&](const PodSpec& pod) {
    switch (target.kind) {
      case TargetKind::kEverything: return true;
      case TargetKind::kNamespace: return target.name.empty() || in_namespace(pod, target);
      case TargetKind::kPod:
        return in_namespace(pod, target) && (target.name.empty() || pod.name == target.name);
      case TargetKind::kDeploy:
        return in_namespace(pod, target) && pod.workload.starts_with("deploy/") &&
               (target.name.empty() || pod.workload == "deploy/" + target.name);
      case TargetKind::kService: return refers_to(via_services, pod);
    }
    return false;
  };

  std::vector<PodMatch> out;
  for (const auto& [_, pod] : pods) {
    if (!selected(pod)) continue;
    PodMatch match{&pod, {}};
    for (const auto& [service, refs] : behind) {
      if (refers_to(refs, pod)) match.services.push_back(service->authority);
    }
    std::sort(match.services.begin(), match.services.end());
    out.push_back(std::move(match));
  }
  return out;
}

}  // namespace lmesh::destination
