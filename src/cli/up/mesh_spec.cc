#include "cli/up/mesh_spec.h"

#include <set>
#include <utility>

#include "common/discovery/json_fields.h"
#include "common/discovery/profile.h"
#include "destination/mesh_file.h"
#include "destination/pod_spec.h"
#include "destination/yaml_json.h"

namespace lmesh::up {
namespace {

namespace fields = discovery::fields;
using discovery::FieldError;
using discovery::Parsed;
using fields::bad;
using fields::pass;
using json = nlohmann::json;

std::string expand_demo(std::string text, std::string_view demo_dir) {
  static constexpr std::string_view kPlaceholder = "{demo}";
  for (size_t at = text.find(kPlaceholder); at != std::string::npos;
       at = text.find(kPlaceholder, at + demo_dir.size())) {
    text.replace(at, kPlaceholder.size(), demo_dir);
  }
  return text;
}

Parsed<std::string> dns_label_at(const json& object, const std::string& pointer,
                                 std::string_view key, bool required, std::string fallback) {
  auto text = fields::string_at(object, pointer, key, required);
  if (!text) return pass(text);
  if (text->empty()) return fallback;
  if (!destination::is_dns_label(*text)) {
    return bad(fields::child(pointer, key),
               "must be a DNS-1123 label (lower-case letters, digits and '-', at most 63)");
  }
  return *text;
}

Parsed<std::vector<WorkloadPort>> parse_ports(const json& value, const std::string& pointer) {
  if (!value.is_array()) return bad(pointer, "must be a list");
  std::vector<WorkloadPort> ports;
  std::set<uint16_t> seen;
  for (size_t i = 0; i < value.size(); ++i) {
    std::string at = fields::child(pointer, i);
    const json& item = value[i];
    if (auto ok = fields::object_with(item, at, {"port", "protocol"}); !ok) return pass(ok);
    auto port = fields::integer_at(item, at, "port", 1, 65535, 0);
    if (!port) return pass(port);
    if (*port == 0) return bad(fields::child(at, "port"), "is required");
    if (*port == kProxyOutboundPort || *port == kProxyInboundPort || *port == kProxyControlPort ||
        *port == kProxyAdminPort) {
      return bad(fields::child(at, "port"),
                 "is the sidecar proxy's (4140, 4143, 4190 and 4191 are reserved)");
    }
    WorkloadPort out{static_cast<uint16_t>(*port), discovery::ProtocolHint::kHttp1};
    auto protocol = fields::string_at(item, at, "protocol", false);
    if (!protocol) return pass(protocol);
    if (!protocol->empty()) {
      auto hint = discovery::parse_protocol_hint(*protocol);
      if (!hint) return bad(fields::child(at, "protocol"), "must be http1, http2 or opaque");
      out.protocol = *hint;
    }
    if (!seen.insert(out.port).second) return bad(fields::child(at, "port"), "is listed twice");
    ports.push_back(out);
  }
  return ports;
}

Parsed<std::vector<std::string>> parse_strings(const json& value, const std::string& pointer,
                                               std::string_view demo_dir) {
  if (!value.is_array()) return bad(pointer, "must be a list of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) return bad(fields::child(pointer, i), "must be a string");
    out.push_back(expand_demo(value[i].get<std::string>(), demo_dir));
  }
  return out;
}

bool is_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

Parsed<WorkloadSpec> parse_workload(const json& item, const std::string& at,
                                    std::string_view demo_dir) {
  if (auto ok = fields::object_with(item, at,
                                    {"name", "namespace", "service_account", "replicas", "command",
                                     "env", "ports", "services"});
      !ok) {
    return pass(ok);
  }
  WorkloadSpec w;
  auto name = dns_label_at(item, at, "name", true, "");
  if (!name) return pass(name);
  w.name = *name;
  auto ns = dns_label_at(item, at, "namespace", false, "default");
  if (!ns) return pass(ns);
  w.namespace_name = *ns;
  auto sa = dns_label_at(item, at, "service_account", false, w.name);
  if (!sa) return pass(sa);
  w.service_account = *sa;
  auto replicas = fields::integer_at(item, at, "replicas", 0, kMaxReplicas, 1);
  if (!replicas) return pass(replicas);
  w.replicas = static_cast<int>(*replicas);

  const json* command = fields::find(item, "command");
  if (command == nullptr) return bad(fields::child(at, "command"), "is required");
  auto argv = parse_strings(*command, fields::child(at, "command"), demo_dir);
  if (!argv) return pass(argv);
  if (argv->empty() || argv->front().empty()) {
    return bad(fields::child(at, "command"), "must name a program");
  }
  w.command = std::move(*argv);

  if (const json* env = fields::find(item, "env")) {
    std::string env_at = fields::child(at, "env");
    if (!env->is_object()) return bad(env_at, "must be a map of names to strings");
    for (const auto& [key, value] : env->items()) {
      if (!is_env_name(key)) return bad(fields::child(env_at, key), "is not a variable name");
      if (key.starts_with("LMESH_")) {
        return bad(fields::child(env_at, key), "LMESH_* variables are set by lmesh up");
      }
      if (!value.is_string()) return bad(fields::child(env_at, key), "must be a string");
      w.env[key] = expand_demo(value.get<std::string>(), demo_dir);
    }
  }
  if (const json* ports = fields::find(item, "ports")) {
    auto parsed = parse_ports(*ports, fields::child(at, "ports"));
    if (!parsed) return pass(parsed);
    w.ports = std::move(*parsed);
  }
  if (const json* services = fields::find(item, "services")) {
    std::string services_at = fields::child(at, "services");
    auto names = parse_strings(*services, services_at, "");
    if (!names) return pass(names);
    for (size_t i = 0; i < names->size(); ++i) {
      if (!destination::is_dns_label((*names)[i])) {
        return bad(fields::child(services_at, i), "must be a DNS-1123 label");
      }
    }
    w.services = std::move(*names);
  } else {
    w.services = {w.name};
  }
  if (!w.services.empty() && w.ports.empty()) {
    return bad(fields::child(at, "services"), "a workload behind a service must list its ports");
  }
  return w;
}

Parsed<std::vector<ServicePolicy>> parse_policies(const json& value, const std::string& pointer) {
  if (!value.is_object()) return bad(pointer, "must be a map of service names to policies");
  std::vector<ServicePolicy> out;
  for (const auto& [key, item] : value.items()) {
    std::string at = fields::child(pointer, key);
    ServicePolicy policy;
    size_t dot = key.find('.');
    policy.name = key.substr(0, dot);
    policy.namespace_name = dot == std::string::npos ? "default" : key.substr(dot + 1);
    if (!destination::is_dns_label(policy.name) ||
        !destination::is_dns_label(policy.namespace_name)) {
      return bad(at, "must be NAME or NAME.NAMESPACE (DNS-1123 labels)");
    }
    if (auto ok = fields::object_with(item, at, {"profile"}); !ok) return pass(ok);
    if (const json* profile = fields::find(item, "profile")) {
      auto checked = discovery::parse_profile(*profile, fields::child(at, "profile"));
      if (!checked) return pass(checked);
      policy.profile = *profile;
    }
    out.push_back(std::move(policy));
  }
  return out;
}

Parsed<MeshSpec> parse_document(const json& root, std::string_view demo_dir) {
  if (auto ok = fields::object_with(root, "", {"workloads", "services"}); !ok) return pass(ok);
  MeshSpec mesh;
  const json* workloads = fields::find(root, "workloads");
  if (workloads == nullptr) return bad("/workloads", "is required");
  if (!workloads->is_array()) return bad("/workloads", "must be a list");
  std::set<std::pair<std::string, std::string>> names;
  for (size_t i = 0; i < workloads->size(); ++i) {
    std::string at = fields::child("/workloads", i);
    auto w = parse_workload((*workloads)[i], at, demo_dir);
    if (!w) return pass(w);
    if (!names.insert({w->namespace_name, w->name}).second) {
      return bad(fields::child(at, "name"), "names a workload twice in its namespace");
    }
    mesh.workloads.push_back(std::move(*w));
  }
  if (const json* services = fields::find(root, "services")) {
    auto policies = parse_policies(*services, "/services");
    if (!policies) return pass(policies);
    mesh.services = std::move(*policies);
  }
  return mesh;
}

}  // namespace

Result<MeshSpec> parse_mesh_spec(std::string_view text, std::string_view file_name,
                                 std::string_view demo_dir) {
  auto doc = destination::yaml_to_json(text);
  if (!doc) {
    return fail(destination::located(file_name, doc.error().line, doc.error().pointer,
                                     doc.error().message));
  }
  auto mesh = parse_document(doc->value, demo_dir);
  if (!mesh) {
    const FieldError& e = mesh.error();
    return fail(
        destination::located(file_name, doc->lines.line_of(e.pointer), e.pointer, e.message));
  }
  return std::move(*mesh);
}

Result<MeshSpec> load_mesh_spec(const std::string& path, std::string_view demo_dir) {
  auto text = destination::read_mesh_file(path);
  if (!text) return fail(text.error());
  return parse_mesh_spec(*text, path, demo_dir);
}

}  // namespace lmesh::up
