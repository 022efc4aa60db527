// Where the services come from. A backend feeds the Store and nothing else: the API, the
// metrics of followers and the diffs are the Store's.
//
//   MeshFileBackend (mesh_file_backend.h)  --mesh-file: replace_all() (services and pods) per
//                                          reload
//   KubernetesBackend (kubernetes/)        --kubernetes / --kubeconfig: Services, EndpointSlices,
//                                          meshed Pods and ServiceProfiles listed and watched;
//                                          replace_all() + set_ready() after the first lists,
//                                          set_service() / remove_service() per event
#pragma once

#include <string_view>

#include "common/result.h"

namespace lmesh::destination {

class Backend {
 public:
  virtual ~Backend() = default;
  // Delivers the first state (or fails, and the service does not start) and begins following
  // changes. Runs on the service's loop, as every later update does.
  virtual Result<void> start() = 0;
  virtual std::string_view name() const = 0;
};

}  // namespace lmesh::destination
