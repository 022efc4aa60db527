#include "identity/token_review_validator.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/fs/read_file.h"

namespace lmesh::identity {
namespace {

api::ClientOptions client_options(const TokenReviewOptions& options) {
  api::ClientOptions o;
  // The API server's HTTP/2 needs TLS (ALPN); plain HTTP/1.1 is what it and kubectl proxy
  // speak without it.
  o.protocol = api::ClientProtocol::kHttp1;
  o.request_timeout = options.request_timeout;
  o.max_response_bytes = 1 << 20;
  o.tls = options.tls;
  o.tls_server_name = options.server_name;
  return o;
}

TokenResult unavailable(std::string detail) {
  return std::unexpected(TokenRejection{TokenFailure::kUnavailable, std::move(detail)});
}
TokenResult unauthenticated(std::string detail) {
  return std::unexpected(TokenRejection{TokenFailure::kUnauthenticated, std::move(detail)});
}

// Keeps a finished call alive until the loop has left its callback.
struct CallHolder final : event::DeferredDeletable {
  explicit CallHolder(std::unique_ptr<api::Call> c) : call(std::move(c)) {}
  std::unique_ptr<api::Call> call;
};

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<std::unique_ptr<TokenReviewValidator>> TokenReviewValidator::open(
    event::Worker& worker, TokenReviewOptions options) {
  std::unique_ptr<TokenReviewValidator> v(new TokenReviewValidator(worker, std::move(options)));
  if (auto ok = v->refresh_credential(); !ok) return fail(ok.error());
  return v;
}

TokenReviewValidator::TokenReviewValidator(event::Worker& worker, TokenReviewOptions options)
    : worker_(worker),
      options_(std::move(options)),
      client_(worker, options_.api_server, client_options(options_)) {}

TokenReviewValidator::~TokenReviewValidator() {
  calls_.clear();  // cancels them before the client goes
}

Result<void> TokenReviewValidator::refresh_credential() {
  auto text = fs::read_file(options_.credential_file, 64 << 10);
  if (!text) return fail(Error::wrap(text.error(), "reading the Kubernetes API token"));
  std::string credential = trimmed(std::move(*text));
  if (!is_plausible_token(credential)) {
    return fail(ErrorCode::kInvalidArgument,
                options_.credential_file + " does not hold a bearer token");
  }
  credential_ = std::move(credential);
  credential_read_at_ = std::chrono::steady_clock::now();
  return {};
}

std::string TokenReviewValidator::review_body(const std::string& token) {
  nlohmann::json review = {
      {"apiVersion", "authentication.k8s.io/v1"},
      {"kind", "TokenReview"},
      {"spec", {{"token", token}, {"audiences", {std::string(kTokenAudience)}}}},
  };
  return review.dump();
}

TokenResult TokenReviewValidator::read_review(int status, std::string_view body) {
  // The API server answers 201 Created; anything else means it did not review the token
  // (401/403: our own credential or RBAC is wrong), which is not the client's fault.
  if (status != 200 && status != 201) {
    return unavailable("the Kubernetes API answered " + std::to_string(status) +
                       " to the TokenReview");
  }
  nlohmann::json review = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!review.is_object() || !review.contains("status") || !review["status"].is_object()) {
    return unavailable("the Kubernetes API's TokenReview answer has no status");
  }
  const nlohmann::json& st = review["status"];
  auto authenticated = st.find("authenticated");
  if (authenticated == st.end() || !authenticated->is_boolean() || !authenticated->get<bool>()) {
    auto error = st.find("error");
    std::string why = error != st.end() && error->is_string() ? error->get<std::string>() : "";
    return unauthenticated(why.empty() ? "the token was not authenticated by Kubernetes"
                                       : "Kubernetes: " + why);
  }
  auto user = st.find("user");
  if (user == st.end() || !user->is_object() || !user->contains("username") ||
      !(*user)["username"].is_string()) {
    return unavailable("the Kubernetes API's TokenReview answer has no user");
  }
  std::string username = (*user)["username"].get<std::string>();
  auto who = tls::ServiceAccountIdentity::from_k8s_username(username);
  if (!who) return unauthenticated("'" + username + "' is not a ServiceAccount");
  return *who;
}

void TokenReviewValidator::validate(const std::string& token, Done done) {
  if (!is_plausible_token(token)) {
    done(unauthenticated("the token is not a bearer token"));
    return;
  }
  if (std::chrono::steady_clock::now() - credential_read_at_ >= options_.credential_refresh) {
    // A failed re-read keeps the old credential: it may still be valid for a while.
    if (auto ok = refresh_credential(); !ok) {
      spdlog::warn("keeping the previous Kubernetes API token: {}", ok.error().describe());
      credential_read_at_ = std::chrono::steady_clock::now();
    }
  }
  uint64_t id = next_call_id_++;
  auto call = client_.request(
      "POST", std::string(kTokenReviewPath), review_body(token),
      [this, id, done = std::move(done)](Result<api::ClientResponse> response) {
        // Forget the call on a later turn: it is still on the stack of this callback.
        if (auto it = calls_.find(id); it != calls_.end()) {
          worker_.defer_delete(std::make_unique<CallHolder>(std::move(it->second)));
          calls_.erase(it);
        }
        if (!response) {
          done(unavailable("the Kubernetes API is unreachable: " + response.error().describe()));
          return;
        }
        done(read_review(response->status, response->body));
      },
      {{"authorization", "Bearer " + credential_}});
  calls_.emplace(id, std::move(call));
}

}  // namespace lmesh::identity
