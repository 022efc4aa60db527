#include "destination/mesh_file_pods.h"

#include <map>
#include <utility>

#include "common/discovery/json_fields.h"
#include "common/net/socket_address.h"

namespace lmesh::destination {
namespace {

namespace fields = discovery::fields;
using discovery::FieldError;
using discovery::Parsed;
using fields::bad;
using fields::child;
using fields::pass;
using nlohmann::json;

// A string field that must satisfy `valid`; `fallback` when absent.
Parsed<std::string> name_at(const json& object, const std::string& at, std::string_view key,
                            bool (*valid)(std::string_view), std::string_view what,
                            std::string fallback) {
  const json* v = fields::find(object, key);
  if (v == nullptr || v->is_null()) {
    if (fallback.empty()) return bad(child(at, key), "is required");
    return fallback;
  }
  if (!v->is_string()) return bad(child(at, key), "must be a string (" + std::string(what) + ")");
  std::string text = v->get<std::string>();
  if (!valid(text)) return bad(child(at, key), "must be " + std::string(what));
  return text;
}

constexpr std::string_view kSubdomain =
    "a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'";
constexpr std::string_view kLabel =
    "a DNS-1123 label: at most 63 lower-case letters, digits and '-'";

Parsed<PodSpec> parse_pod(const json& value, const std::string& at) {
  if (auto ok = fields::object_with(
          value, at,
          {"name", "namespace", "workload", "service_account", "identity", "addr", "admin"});
      !ok) {
    return pass(ok);
  }
  PodSpec pod;
  auto name = name_at(value, at, "name", is_dns_subdomain, kSubdomain, "");
  if (!name) return pass(name);
  pod.name = std::move(*name);
  auto ns = name_at(value, at, "namespace", is_dns_label, kLabel, std::string(kDefaultNamespace));
  if (!ns) return pass(ns);
  pod.ns = std::move(*ns);
  auto sa = name_at(value, at, "service_account", is_dns_subdomain, kSubdomain, "default");
  if (!sa) return pass(sa);
  pod.service_account = std::move(*sa);

  auto workload = fields::string_at(value, at, "workload", false);
  if (!workload) return pass(workload);
  if (workload->empty()) {
    pod.workload = default_workload(pod.name);
  } else if (auto normalized = normalize_workload(*workload)) {
    pod.workload = std::move(*normalized);
  } else {
    return bad(child(at, "workload"), "must be KIND/NAME, such as deploy/web");
  }

  auto identity = fields::string_at(value, at, "identity", false);
  if (!identity) return pass(identity);
  pod.identity = std::move(*identity);

  auto addr = fields::string_at(value, at, "addr", true);
  if (!addr) return pass(addr);
  auto ip = canonical_ip(*addr);
  if (!ip) return bad(child(at, "addr"), "must be an IP address (no port)");
  pod.addr = std::move(*ip);

  auto admin = fields::string_at(value, at, "admin", false);
  if (!admin) return pass(admin);
  if (admin->empty()) {
    pod.admin = admin_address(pod.addr);
  } else {
    auto address = net::SocketAddress::parse(*admin);
    if (!address || address->port() == 0) {
      return bad(child(at, "admin"), "must be IP:port, such as 198.18.0.12:4191");
    }
    pod.admin = address->to_string();
  }
  return pod;
}

}  // namespace

std::optional<std::string> normalize_workload(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string kind;
  for (char c : text.substr(0, slash)) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c < 'a' || c > 'z') return std::nullopt;
    kind += c;
  }
  std::string_view name = text.substr(slash + 1);
  if (kind.empty() || !is_dns_subdomain(name)) return std::nullopt;
  if (kind == "deployment" || kind == "deployments") kind = "deploy";
  if (kind == "po" || kind == "pods") kind = "pod";
  return kind + "/" + std::string(name);
}

Parsed<std::vector<PodSpec>> parse_mesh_pods(const json& value, const std::string& pointer) {
  std::vector<PodSpec> out;
  if (value.is_null()) return out;
  if (!value.is_array()) return bad(pointer, "must be a list of pods");
  std::map<std::pair<std::string, std::string>, size_t> seen;  // (namespace, name) -> index
  for (size_t i = 0; i < value.size(); ++i) {
    std::string at = child(pointer, i);
    auto pod = parse_pod(value[i], at);
    if (!pod) return pass(pod);
    auto [it, fresh] = seen.emplace(std::pair{pod->ns, pod->name}, i);
    if (!fresh) {
      return bad(child(at, "name"), "is the same pod as pods/" + std::to_string(it->second) +
                                        " (in namespace " + pod->ns + ")");
    }
    out.push_back(std::move(*pod));
  }
  return out;
}

}  // namespace lmesh::destination
