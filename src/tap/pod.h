// One pod as lmesh-destination's GET /v1/pods describes it (README.md), and the parser of
// that response.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::tap {

struct Pod {
  std::string name;
  std::string namespace_;
  std::string workload;  // "deploy/web"
  std::string identity;  // empty: unmeshed
  std::string addr;      // IP
  net::SocketAddress admin;
  std::vector<std::string> services;  // authorities, "web.default.svc.cluster.local:8080"

  // "default/web-1": the key of the pod in stat history.
  std::string key() const { return namespace_ + "/" + name; }
};

// The body of a 200 answer of /v1/pods. A pod without a usable admin address is an error: it
// would be a pod nobody can tap, silently missing from every answer.
Result<std::vector<Pod>> parse_pods(std::string_view body);

}  // namespace lmesh::tap
