#include "destination/mesh_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "common/discovery/json_fields.h"
#include "destination/authority.h"
#include "destination/mesh_file_pods.h"
#include "destination/yaml_json.h"

namespace lmesh::destination {
namespace {

namespace fields = discovery::fields;
using discovery::FieldError;
using discovery::Parsed;
using fields::bad;
using fields::child;
using fields::pass;
using nlohmann::json;

Parsed<std::vector<discovery::Endpoint>> parse_endpoints(const json& value, const std::string& at) {
  std::vector<discovery::Endpoint> out;
  if (value.is_null()) return out;
  if (!value.is_array()) return bad(at, "must be a list of endpoints");
  std::unordered_map<net::SocketAddress, size_t> seen;
  for (size_t i = 0; i < value.size(); ++i) {
    std::string eat = child(at, i);
    auto e = discovery::parse_endpoint(value[i], eat);
    if (!e) return pass(e);
    auto [it, fresh] = seen.emplace(e->address, i);
    if (!fresh) {
      return bad(child(eat, "addr"),
                 "is the same address as endpoints/" + std::to_string(it->second));
    }
    out.push_back(std::move(*e));
  }
  return out;
}

Parsed<ServiceSpec> parse_service(const std::string& authority, const json& value,
                                  const std::string& at) {
  ServiceSpec spec;
  spec.authority = authority;
  if (value.is_null()) return spec;  // "web:8080:" alone: known, without endpoints yet
  if (auto ok = fields::object_with(value, at, {"aliases", "endpoints", "profile"}); !ok) {
    return pass(ok);
  }
  if (const json* aliases = fields::find(value, "aliases"); aliases && !aliases->is_null()) {
    std::string aat = child(at, "aliases");
    if (!aliases->is_array()) return bad(aat, "must be a list of host:port");
    for (size_t i = 0; i < aliases->size(); ++i) {
      const json& a = (*aliases)[i];
      if (!a.is_string()) return bad(child(aat, i), "must be a string (host:port)");
      auto normalized = normalize_authority(a.get<std::string>());
      if (!normalized) return bad(child(aat, i), normalized.error().message());
      spec.aliases.push_back(std::move(*normalized));
    }
  }
  if (const json* endpoints = fields::find(value, "endpoints")) {
    auto parsed = parse_endpoints(*endpoints, child(at, "endpoints"));
    if (!parsed) return pass(parsed);
    spec.endpoints = std::move(*parsed);
  }
  if (const json* profile = fields::find(value, "profile"); profile && !profile->is_null()) {
    std::string pat = child(at, "profile");
    auto parsed = discovery::parse_profile(*profile, pat);
    if (!parsed) return pass(parsed);
    if (auto ok = normalize_profile_targets(*parsed, pat); !ok) return pass(ok);
    spec.profile = std::move(*parsed);
  }
  return spec;
}

// Every name (authority or alias) must name one service only.
Parsed<void> check_names(const std::vector<ServiceSpec>& services,
                         const std::vector<std::string>& pointers) {
  std::unordered_map<std::string, size_t> owner;  // name -> index of its service
  for (size_t s = 0; s < services.size(); ++s) owner.emplace(services[s].authority, s);
  for (size_t s = 0; s < services.size(); ++s) {
    const ServiceSpec& spec = services[s];
    for (size_t i = 0; i < spec.aliases.size(); ++i) {
      std::string at = child(child(pointers[s], "aliases"), i);
      auto [it, fresh] = owner.emplace(spec.aliases[i], s);
      if (fresh) continue;
      if (it->second == s) {
        return bad(at, spec.aliases[i] == spec.authority ? "is the service's own authority"
                                                         : "is given twice");
      }
      const ServiceSpec& other = services[it->second];
      bool is_authority = other.authority == spec.aliases[i];
      return bad(
          at, "already names service " + other.authority + (is_authority ? "" : " (as an alias)"));
    }
  }
  return {};
}

Parsed<std::vector<ServiceSpec>> parse_services(const json& root) {
  std::vector<ServiceSpec> out;
  const json* services = fields::find(root, "services");
  if (services == nullptr || services->is_null()) return out;
  if (!services->is_object()) return bad("/services", "must be a mapping of host:port to services");
  std::unordered_map<std::string, std::string> authorities;  // normalized -> its key
  std::vector<std::string> pointers;
  for (const auto& [key, value] : services->items()) {
    std::string at = child("/services", key);
    auto authority = normalize_authority(key);
    if (!authority) return bad(at, authority.error().message());
    auto [it, fresh] = authorities.emplace(*authority, key);
    if (!fresh) return bad(at, "is the same service as services/" + it->second);
    auto spec = parse_service(*authority, value, at);
    if (!spec) return pass(spec);
    out.push_back(std::move(*spec));
    pointers.push_back(std::move(at));
  }
  if (auto ok = check_names(out, pointers); !ok) return pass(ok);
  return out;
}

Parsed<MeshFile> parse_document(const json& root) {
  if (root.is_null()) return bad("", "the file is empty (expected services:)");
  if (auto ok = fields::object_with(root, "", {"services", "pods", "workloads"}); !ok) {
    return pass(ok);
  }
  MeshFile out;
  auto services = parse_services(root);
  if (!services) return pass(services);
  out.services = std::move(*services);
  if (const json* pods = fields::find(root, "pods")) {
    auto parsed = parse_mesh_pods(*pods, "/pods");
    if (!parsed) return pass(parsed);
    out.pods = std::move(*parsed);
  }
  return out;
}

}  // namespace

Result<MeshFile> parse_mesh_file(std::string_view text, std::string_view file_name) {
  auto doc = yaml_to_json(text);
  if (!doc)
    return fail(located(file_name, doc.error().line, doc.error().pointer, doc.error().message));
  auto mesh = parse_document(doc->value);
  if (!mesh) {
    const FieldError& e = mesh.error();
    return fail(located(file_name, doc->lines.line_of(e.pointer), e.pointer, e.message));
  }
  return std::move(*mesh);
}

Result<std::string> read_mesh_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(ErrorCode::kIo, "cannot open the mesh file " + path + ": " + std::strerror(errno));
  }
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && static_cast<size_t>(st.st_size) > kMaxMeshFileBytes) {
    ::close(fd);
    return fail(ErrorCode::kTooLarge, "the mesh file " + path + " is larger than " +
                                          std::to_string(kMaxMeshFileBytes >> 20) + " MiB");
  }
  char buf[64 << 10];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return fail(ErrorCode::kIo, "cannot read the mesh file " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxMeshFileBytes) {
      ::close(fd);
      return fail(ErrorCode::kTooLarge, "the mesh file " + path + " is larger than " +
                                            std::to_string(kMaxMeshFileBytes >> 20) + " MiB");
    }
  }
  ::close(fd);
  return out;
}

}  // namespace lmesh::destination
