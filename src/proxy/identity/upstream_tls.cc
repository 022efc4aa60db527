#include "proxy/identity/upstream_tls.h"

namespace lmesh::proxy {

Result<std::unique_ptr<tls::Session>> upstream_tls(const EndpointIdentities& identities,
                                                   Direction direction,
                                                   const std::shared_ptr<const MeshTls>& mesh,
                                                   const net::SocketAddress& endpoint,
                                                   MeshAlpn alpn, tls::ResumptionTicket resume) {
  const std::string* identity =
      direction == Direction::kOutbound ? identities.expected(endpoint) : nullptr;
  if (identity == nullptr || !identities.identity_enabled()) return nullptr;
  if (mesh == nullptr) {
    return fail(ErrorCode::kRefused, "no identity certificate yet for mTLS to " + *identity);
  }
  const auto& context = alpn == MeshAlpn::kH2       ? mesh->client_h2
                        : alpn == MeshAlpn::kOpaque ? mesh->client_opaque
                                                    : mesh->client_plain;
  // SNI names the identity wanted: the inbound proxy terminates any mesh identity name.
  tls::ClientSessionOptions options{*identity, *identity, std::move(resume)};
  auto session = tls::Session::client(context, options);
  if (!session) return fail(session.error());
  return std::move(*session);
}

tls::Session* mesh_session(const net::TcpConnection& tcp) {
  // Only mesh TLS sessions are ever installed as a connection's layer.
  return static_cast<tls::Session*>(tcp.transport_layer());
}

void count_handshake_done(ProxyMetrics& metrics, Direction direction,
                          const net::TcpConnection& tcp) {
  tls::Session* session = mesh_session(tcp);
  if (session == nullptr) return;
  metrics.count_handshake(direction, session->resumed() ? "resumed" : "success");
}

ProxyError count_handshake_failed(ProxyMetrics& metrics, Direction direction, const Error& error) {
  auto why = tls::failure_reason(error);
  metrics.count_handshake(direction, tls::metric_token(why));
  return why == tls::FailureReason::kIdentityMismatch ? ProxyError::kTlsIdentityMismatch
                                                      : ProxyError::kTlsFailed;
}

}  // namespace lmesh::proxy
