#include "identity/certify_handler.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "identity/rfc3339.h"

namespace lmesh::identity {

void CertifyHandler::handle(const api::Request& request, std::shared_ptr<api::Response> response) {
  auto parsed = parse_certify_request(request.body);
  if (!parsed) {
    refuse(*response, parsed.error());
    return;
  }
  // The CSR travels with the callback; the response stays alive through it even if the
  // client leaves (then sending does nothing).
  validator_.validate(parsed->token, [this, response, csr = std::move(parsed->csr_pem),
                                      peer = request.peer.to_string()](TokenResult who) {
    if (!who) {
      Refusal refusal = refusal_for(who.error());
      spdlog::info("certify refused peer={} reason={} detail={}", peer, refusal.reason,
                   refusal.detail);
      refuse(*response, refusal);
      return;
    }
    certify(*who, csr, *response);
  });
}

void CertifyHandler::certify(const tls::ServiceAccountIdentity& who, const std::string& csr_pem,
                             api::Response& response) {
  auto csr = decide(who, csr_pem);
  if (!csr) {
    spdlog::info("certify refused identity={} reason={} detail={}", who.dns_name(),
                 csr.error().reason, csr.error().detail);
    refuse(response, csr.error());
    return;
  }
  auto now = std::chrono::system_clock::now();
  if (auto ready = ca_.check(now); !ready) {
    spdlog::error("certify refused: the issuer cannot sign: {}", ready.error().describe());
    refuse(response, Refusal{503, reason::kIssuerNotReady, "unavailable",
                             "the issuer cannot sign now: " + ready.error().describe()});
    return;
  }
  auto leaf = ca_.issue(*csr, who, now, policy_.lifetime, policy_.clock_skew);
  if (!leaf) {
    spdlog::error("certify failed identity={}: {}", who.dns_name(), leaf.error().describe());
    refuse(response, Refusal{500, reason::kInternal, "internal", leaf.error().describe()});
    return;
  }
  metrics_.issued();
  std::string expires = format_rfc3339(leaf->not_after());
  spdlog::info("certified identity={} expires={}", who.dns_name(), expires);
  response.json(
      200, nlohmann::json{{"cert", leaf->to_pem()},
                          {"chain", nlohmann::json::array({ca_.issuer_certificate().to_pem()})},
                          {"expires", expires}});
}

void CertifyHandler::refuse(api::Response& response, const Refusal& refusal) {
  metrics_.refused(refusal.reason);
  response.error(refusal.status, refusal.error, refusal.detail);
}

}  // namespace lmesh::identity
