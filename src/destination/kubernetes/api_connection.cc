#include "destination/kubernetes/api_connection.h"

#include <spdlog/spdlog.h>

#include "common/fs/read_file.h"
#include "common/tls/certificate.h"
#include "common/tls/context.h"

namespace lmesh::destination::kubernetes {
namespace {

// A page of 500 Pods is a few MiB; one watch line is one object.
constexpr size_t kMaxResponseBytes = 32 << 20;
constexpr size_t kMaxTokenBytes = 64 << 10;

api::ClientOptions client_options() {
  api::ClientOptions o;
  o.protocol = api::ClientProtocol::kHttp1;
  o.connect_timeout = std::chrono::milliseconds(5'000);
  // A LIST of a large cluster takes seconds; a watch only has to send its head in this time.
  o.request_timeout = std::chrono::milliseconds(60'000);
  // client-go's reflector backs off from 800ms to 30s; we start lower because a watch that
  // ended normally (its timeoutSeconds) is resumed after backoff(0).
  o.backoff_min = std::chrono::milliseconds(200);
  o.backoff_max = std::chrono::milliseconds(30'000);
  o.max_response_bytes = kMaxResponseBytes;
  return o;
}

// A token goes into a header line: no whitespace or control characters inside.
bool plausible_token(std::string_view token) {
  if (token.empty()) return false;
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<std::shared_ptr<const tls::Context>> tls_context(const ApiServerAccess& access) {
  std::string pem = access.ca_pem;
  if (pem.empty()) {
    auto read = fs::read_file(access.ca_file);
    if (!read) return fail(Error::wrap(read.error(), "the Kubernetes API's CA bundle"));
    pem = std::move(*read);
  }
  auto anchors = tls::Certificate::all_from_pem(pem);
  if (!anchors) return fail(Error::wrap(anchors.error(), "the Kubernetes API's CA bundle"));
  // The API server is no mesh peer: TLS 1.2 is allowed, any key type, HTTP/1.1.
  tls::ContextOptions o;
  o.role = tls::Role::kClient;
  o.trust_anchors = std::move(*anchors);
  o.alpn = {"http/1.1"};
  o.allow_tls12 = true;
  auto context = tls::Context::make(o);
  if (!context) return fail(Error::wrap(context.error(), "TLS to the Kubernetes API"));
  return std::move(*context);
}

}  // namespace

Result<std::unique_ptr<ApiConnection>> ApiConnection::open(event::Worker& worker,
                                                           ApiServerAccess access) {
  std::string source = access.source;
  auto address = access.server.address.resolve();
  if (!address) return fail(Error::wrap(address.error(), source));
  api::ClientOptions options = client_options();
  if (access.server.tls) {
    auto context = tls_context(access);
    if (!context) return fail(Error::wrap(context.error(), source));
    options.tls = std::move(*context);
    options.tls_server_name = access.server_name;
  }
  std::unique_ptr<ApiConnection> c(
      new ApiConnection(worker, *address, std::move(options), std::move(access)));
  if (!c->access_.token.empty() && !plausible_token(c->access_.token)) {
    return fail(ErrorCode::kInvalidArgument, source + ": user.token is not a bearer token");
  }
  c->token_ = c->access_.token;
  if (auto ok = c->read_token(); !ok) return fail(Error::wrap(ok.error(), source));
  if (!c->access_.server.tls && !c->token_.empty() && !address->is_loopback()) {
    spdlog::warn("the Kubernetes API token goes in the clear to {} (http://)",
                 address->to_string());
  }
  return c;
}

ApiConnection::ApiConnection(event::Worker& worker, const net::SocketAddress& address,
                             api::ClientOptions options, ApiServerAccess access)
    : access_(std::move(access)), client_(worker, address, std::move(options)) {}

Result<void> ApiConnection::read_token() {
  if (access_.token_file.empty()) return {};
  auto text = fs::read_file(access_.token_file, kMaxTokenBytes);
  if (!text) return fail(Error::wrap(text.error(), "reading the Kubernetes API token"));
  std::string token = trimmed(std::move(*text));
  if (!plausible_token(token)) {
    return fail(ErrorCode::kInvalidArgument, access_.token_file + " does not hold a bearer token");
  }
  token_ = std::move(token);
  return {};
}

api::RequestHeaders ApiConnection::headers() {
  if (auto ok = read_token(); !ok) {
    spdlog::warn("keeping the previous Kubernetes API token: {}", ok.error().describe());
  }
  if (token_.empty()) return {};
  return {{"authorization", "Bearer " + token_}};
}

std::string ApiConnection::target(std::string_view path_and_query) const {
  return access_.server.path_prefix + std::string(path_and_query);
}

}  // namespace lmesh::destination::kubernetes
