// Reads /metrics of a set of pods at once and keeps what /v1/stat needs of each answer. Done
// runs once, when every pod has answered or failed (each within the request timeout).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/api/client.h"
#include "common/event/worker.h"
#include "tap/pod.h"
#include "tap/stat_sample.h"
#include "tap/tap_identity.h"
#include "tap/tap_metrics.h"

namespace lmesh::tap {

class ScrapeBatch : public event::DeferredDeletable {
 public:
  // The samples of the pods that answered, by Pod::key().
  using Samples = std::unordered_map<std::string, PodSample>;
  using Done = std::function<void(Samples)>;

  // `pods` must not be empty (Done would never run). Done runs from a client callback: free
  // the batch on a later turn (Worker::defer_delete). Pods with an identity are scraped over
  // mTLS when `identity` holds a certificate (TapIdentity::secure_scrape).
  ScrapeBatch(event::Worker& worker, const TapIdentity& identity, TapMetrics& metrics,
              const std::vector<Pod>& pods, std::chrono::milliseconds timeout, Done done);
  ~ScrapeBatch() override;

 private:
  void answered(const std::string& key, Result<api::ClientResponse> r);

  TapMetrics& metrics_;
  Done done_;
  // Clients first: each must outlive its call, and members are destroyed in reverse.
  std::vector<std::unique_ptr<api::Client>> clients_;
  std::vector<std::unique_ptr<api::Call>> calls_;
  size_t pending_ = 0;
  Samples samples_;
};

}  // namespace lmesh::tap
