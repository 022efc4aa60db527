// Requests seen on a tap whose response has not ended yet: response_init and response_end carry
// only the request's id, so their lines borrow its addresses and route from here. Bounded,
// because a request whose end never comes (the proxy went away, the event was dropped) must not
// grow memory for as long as a tap runs: past `capacity` the oldest entry goes.
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "cli/tap_event.h"

namespace lmesh::cli {

struct PendingRequest {
  TapEvent request;           // its request_init
  std::optional<int> status;  // from response_init
  uint64_t latency_us = 0;    // from response_init
};

class RequestTable {
 public:
  static constexpr size_t kDefaultCapacity = 10'000;

  explicit RequestTable(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // Replaces an entry with the same key (a proxy that restarted reuses ids).
  void insert(const std::string& key, PendingRequest request);
  PendingRequest* find(const std::string& key);
  void erase(const std::string& key);
  size_t size() const { return index_.size(); }

 private:
  using Entry = std::pair<std::string, PendingRequest>;
  size_t capacity_;
  std::list<Entry> order_;  // oldest first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace lmesh::cli
