#include "destination/kubernetes/api_access.h"

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>

#include "destination/yaml_json.h"

namespace lmesh::destination::kubernetes {
namespace {

using nlohmann::json;

constexpr std::string_view kTokenAdvice =
    "give user.token or user.tokenFile (e.g. a ServiceAccount token) instead";

// Errors name the file and the field in kubectl's notation: users[admin].user.exec.
class Fields {
 public:
  explicit Fields(const std::string& path) : where_("kubeconfig " + path) {}

  std::unexpected<Error> bad(const std::string& field, std::string_view why) const {
    return fail(ErrorCode::kInvalidArgument, where_ + ": " + field + ": " + std::string(why));
  }

  // A string member; "" when absent.
  Result<std::string> string(const json& object, const std::string& at,
                             std::string_view key) const {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return std::string();
    if (!it->is_string()) return bad(at + "." + std::string(key), "must be a string");
    return it->get<std::string>();
  }

  // The inner object (`inner`) of the entry named `name` in the list `list`.
  Result<const json*> entry(const json& root, std::string_view list, std::string_view inner,
                            const std::string& name) const {
    std::string at(list);
    auto items = root.find(list);
    if (items == root.end() || !items->is_array()) {
      return bad(at, "must be a list with an entry named \"" + name + "\"");
    }
    for (const json& item : *items) {
      if (!item.is_object()) continue;
      auto n = item.find("name");
      if (n == item.end() || !n->is_string() || n->get<std::string>() != name) continue;
      auto body = item.find(inner);
      std::string bat = at + "[" + name + "]." + std::string(inner);
      if (body == item.end() || !body->is_object()) return bad(bat, "must be an object");
      return &*body;
    }
    return bad(at, "has no entry named \"" + name + "\"");
  }

  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

std::string relative_to(const std::string& kubeconfig, const std::string& file) {
  if (file.empty() || file.front() == '/') return file;
  size_t slash = kubeconfig.rfind('/');
  return slash == std::string::npos ? file : kubeconfig.substr(0, slash + 1) + file;
}

Result<void> read_cluster(const Fields& f, const json& cluster, const std::string& at,
                          const std::string& path, ApiServerAccess& out) {
  for (std::string_view refused : {"insecure-skip-tls-verify", "proxy-url"}) {
    auto it = cluster.find(refused);
    if (it == cluster.end() || it->is_null() || (it->is_boolean() && !it->get<bool>())) continue;
    return f.bad(at + "." + std::string(refused),
                 refused == "proxy-url"
                     ? "is not supported: the API server must be reached directly"
                     : "is not supported: the API server's certificate is always verified "
                       "(give certificate-authority or certificate-authority-data)");
  }
  auto server = f.string(cluster, at, "server");
  if (!server) return fail(server.error());
  if (server->empty()) return f.bad(at + ".server", "is required");
  auto url = parse_server_url(*server);
  if (!url) return f.bad(at + ".server", url.error().message());
  out.server = std::move(*url);
  auto name = f.string(cluster, at, "tls-server-name");
  if (!name) return fail(name.error());
  out.server_name = name->empty() ? out.server.address.host : std::move(*name);
  auto data = f.string(cluster, at, "certificate-authority-data");
  if (!data) return fail(data.error());
  auto file = f.string(cluster, at, "certificate-authority");
  if (!file) return fail(file.error());
  if (!data->empty()) {
    auto pem = decode_base64(*data);
    if (!pem) return f.bad(at + ".certificate-authority-data", pem.error().message());
    out.ca_pem = std::move(*pem);
  } else {
    out.ca_file = relative_to(path, *file);
  }
  if (out.server.tls && out.ca_pem.empty() && out.ca_file.empty()) {
    return f.bad(at, "an https server needs certificate-authority or certificate-authority-data");
  }
  return {};
}

Result<void> read_user(const Fields& f, const json& user, const std::string& at,
                       const std::string& path, ApiServerAccess& out) {
  struct Refusal {
    std::string_view field;
    std::string_view why;
  };
  static constexpr std::array<Refusal, 8> kRefused = {{
      {"client-certificate", "client certificate authentication is not supported"},
      {"client-certificate-data", "client certificate authentication is not supported"},
      {"client-key", "client certificate authentication is not supported"},
      {"client-key-data", "client certificate authentication is not supported"},
      {"exec", "exec credential plugins are not supported"},
      {"auth-provider", "auth-provider plugins are not supported"},
      {"username", "basic authentication is not supported"},
      {"password", "basic authentication is not supported"},
  }};
  for (const Refusal& r : kRefused) {
    auto it = user.find(r.field);
    if (it == user.end() || it->is_null()) continue;
    return f.bad(at + "." + std::string(r.field),
                 std::string(r.why) + "; " + std::string(kTokenAdvice));
  }
  auto token = f.string(user, at, "token");
  if (!token) return fail(token.error());
  auto file = f.string(user, at, "tokenFile");
  if (!file) return fail(file.error());
  // kubectl's rule: "If both token and tokenFile are present, token takes precedence."
  out.token = std::move(*token);
  if (out.token.empty()) out.token_file = relative_to(path, *file);
  return {};
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

Result<ServerUrl> parse_server_url(std::string_view url) {
  ServerUrl out;
  if (url.starts_with("https://")) {
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    out.tls = false;
    url.remove_prefix(7);
  } else {
    return fail(ErrorCode::kInvalidArgument,
                "\"" + std::string(url) + "\" is not an https:// (or http://) URL");
  }
  size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view path = url.substr(slash);
    while (path.ends_with('/')) path.remove_suffix(1);
    if (path.find_first_of("?#") != std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument, "the server URL must not have a query");
    }
    out.path_prefix = std::string(path);
  }
  bool has_port = authority.starts_with('[') ? authority.find("]:") != std::string_view::npos
                                             : authority.find(':') != std::string_view::npos;
  std::string text(authority);
  if (!has_port) text += out.tls ? ":443" : ":80";
  auto hp = net::HostPort::parse(text);
  if (!hp) return fail(hp.error());
  if (hp->port == 0) return fail(ErrorCode::kInvalidArgument, "the port must not be 0");
  out.address = std::move(*hp);
  return out;
}

Result<ApiServerAccess> parse_kubeconfig(std::string_view text, const std::string& path) {
  Fields f(path);
  auto doc = yaml_to_json(text);
  if (!doc) {
    return fail(ErrorCode::kInvalidArgument,
                f.where() + ":" + std::to_string(doc.error().line) + ": " + doc.error().message);
  }
  const json& root = doc->value;
  if (!root.is_object()) return f.bad("(document)", "must be a mapping (a kubeconfig)");
  auto context_name = f.string(root, "", "current-context");
  if (!context_name) return f.bad("current-context", "must be a string");
  if (context_name->empty()) return f.bad("current-context", "is not set");
  auto context = f.entry(root, "contexts", "context", *context_name);
  if (!context) return fail(context.error());
  std::string cat = "contexts[" + *context_name + "].context";
  auto cluster_name = f.string(**context, cat, "cluster");
  if (!cluster_name) return fail(cluster_name.error());
  if (cluster_name->empty()) return f.bad(cat + ".cluster", "is required");
  auto user_name = f.string(**context, cat, "user");
  if (!user_name) return fail(user_name.error());

  ApiServerAccess out;
  out.source = f.where() + " (context " + *context_name + ")";
  auto cluster = f.entry(root, "clusters", "cluster", *cluster_name);
  if (!cluster) return fail(cluster.error());
  std::string at = "clusters[" + *cluster_name + "].cluster";
  if (auto ok = read_cluster(f, **cluster, at, path, out); !ok) return fail(ok.error());
  if (!user_name->empty()) {  // a context without a user: no credential (kubectl proxy)
    auto user = f.entry(root, "users", "user", *user_name);
    if (!user) return fail(user.error());
    at = "users[" + *user_name + "].user";
    if (auto ok = read_user(f, **user, at, path, out); !ok) return fail(ok.error());
  }
  return out;
}

Result<ApiServerAccess> in_cluster_access(std::string_view host, std::string_view port,
                                          std::string token_file, std::string ca_file) {
  if (host.empty() || port.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not in a pod? "
                "give --kubeconfig FILE instead)");
  }
  bool v6 = host.find(':') != std::string_view::npos;
  std::string url = "https://" + (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" +
                    std::string(port);
  auto server = parse_server_url(url);
  if (!server) {
    return fail(Error::wrap(server.error(), "KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT"));
  }
  ApiServerAccess out;
  out.server = std::move(*server);
  out.server_name = out.server.address.host;
  out.ca_file = std::move(ca_file);
  out.token_file = std::move(token_file);
  out.source = "in-cluster (KUBERNETES_SERVICE_HOST)";
  return out;
}

Result<std::string> decode_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t bits = 0;
  int count = 0;
  size_t padding = 0;
  for (char c : text) {
    if (c == '\n' || c == '\r') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    int v = base64_value(c);
    if (v < 0 || padding > 0) {
      return fail(ErrorCode::kInvalidArgument, "is not valid base64");
    }
    bits = (bits << 6) | static_cast<uint32_t>(v);
    if (++count == 4) {
      out.push_back(static_cast<char>(bits >> 16));
      out.push_back(static_cast<char>(bits >> 8));
      out.push_back(static_cast<char>(bits));
      bits = 0;
      count = 0;
    }
  }
  if (count == 1 || padding > 2) return fail(ErrorCode::kInvalidArgument, "is not valid base64");
  if (count == 2) out.push_back(static_cast<char>(bits >> 4));
  if (count == 3) {
    out.push_back(static_cast<char>(bits >> 10));
    out.push_back(static_cast<char>(bits >> 2));
  }
  return out;
}

}  // namespace lmesh::destination::kubernetes
