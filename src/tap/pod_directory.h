// The pods of a target, asked of lmesh-destination (GET /v1/pods, README.md). Its answers map
// onto the tap service's own errors: kNotFound (404: the target matches nothing),
// kInvalidArgument (400: a target lmesh-destination refuses), anything else (unreachable,
// 5xx, a malformed answer) is the destination service failing (502).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/api/client.h"
#include "common/event/worker.h"
#include "common/net/socket_address.h"
#include "common/result.h"
#include "tap/pod.h"
#include "tap/target.h"

namespace lmesh::tap {

class PodDirectory {
 public:
  using Done = std::function<void(Result<std::vector<Pod>>)>;

  PodDirectory(event::Worker& worker, net::SocketAddress destination);

  // No target: every pod the destination service knows. Dropping the Call cancels the lookup.
  std::unique_ptr<api::Call> lookup(const std::optional<Target>& target,
                                    const std::string& namespace_, Done done);

 private:
  api::Client client_;
};

}  // namespace lmesh::tap
