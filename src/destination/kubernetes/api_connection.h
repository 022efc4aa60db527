// The Kubernetes API server as the backend talks to it: an api::Client over HTTP/1.1 (the API
// server speaks HTTP/2 only with TLS+ALPN, and one connection per watch keeps a slow watch from
// holding up the others), TLS verified against the cluster's CA for the server's name, and
// the bearer token, re-read from its file for every request and every (re)connect of a watch
// because the kubelet rotates projected ServiceAccount tokens.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/api/client.h"
#include "common/event/worker.h"
#include "common/result.h"
#include "destination/kubernetes/api_access.h"

namespace lmesh::destination::kubernetes {

class ApiConnection {
 public:
  // Resolves the server's name, reads the CA bundle and the token: a mistake in any of them
  // stops the service at start, naming it.
  static Result<std::unique_ptr<ApiConnection>> open(event::Worker& worker, ApiServerAccess access);

  api::Client& client() { return client_; }
  event::Worker& worker() { return client_.worker(); }
  // The Authorization header (none without a credential). A token file that cannot be read now
  // keeps the last token read: it may well still be valid, and the API server says if not.
  api::RequestHeaders headers();
  // `path_and_query` under the server URL's path prefix.
  std::string target(std::string_view path_and_query) const;
  const ApiServerAccess& access() const { return access_; }

 private:
  ApiConnection(event::Worker& worker, const net::SocketAddress& address,
                api::ClientOptions options, ApiServerAccess access);
  Result<void> read_token();

  ApiServerAccess access_;
  api::Client client_;
  std::string token_;
};

}  // namespace lmesh::destination::kubernetes
