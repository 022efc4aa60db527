#include "proxy/identity/mesh_tls.h"

#include "common/identity/mesh_client_context.h"

namespace lmesh::proxy {

Result<std::shared_ptr<const MeshTls>> MeshTls::make(
    const std::string& identity, const tls::Credentials& credentials,
    const std::vector<tls::Certificate>& trust_anchors, const tls::TicketKey& ticket_key) {
  tls::ContextOptions server;
  server.role = tls::Role::kServer;
  server.credentials = credentials;
  server.trust_anchors = trust_anchors;
  server.require_client_certificate = true;
  server.alpn = {std::string(kAlpnH2), std::string(kAlpnOpaque)};
  server.ticket_key = ticket_key;
  auto server_ctx = tls::Context::make(server);
  if (!server_ctx) return fail(Error::wrap(server_ctx.error(), "inbound TLS context"));
  tls::ContextOptions admin = server;
  admin.alpn = {std::string(kAlpnH2), std::string(kAlpnHttp1)};
  auto admin_ctx = tls::Context::make(admin);
  if (!admin_ctx) return fail(Error::wrap(admin_ctx.error(), "admin TLS context"));

  std::shared_ptr<const tls::Context> clients[3];
  const std::vector<std::string> alpns[3] = {
      {std::string(kAlpnH2)}, {std::string(kAlpnOpaque)}, {}};
  for (int i = 0; i < 3; ++i) {
    auto ctx = identity::make_mesh_client_context(credentials, trust_anchors, alpns[i]);
    if (!ctx) return fail(Error::wrap(ctx.error(), "outbound TLS context"));
    clients[i] = std::move(*ctx);
  }
  auto snapshot = std::make_shared<MeshTls>(
      MeshTls{identity, credentials.leaf, std::move(*server_ctx), std::move(clients[0]),
              std::move(clients[1]), std::move(clients[2]), std::move(*admin_ctx)});
  return std::shared_ptr<const MeshTls>(std::move(snapshot));
}

}  // namespace lmesh::proxy
