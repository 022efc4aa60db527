// `lmesh top`'s table: completed requests from a tap stream, grouped by (source, destination,
// method, path) and counted, with their best, worst and last latency and success rate. Pure:
// events in, text out; the command decides when to draw.
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

#include "cli/request_table.h"
#include "cli/tap_event.h"

namespace lmesh::cli {

struct TopGroup {
  std::string source;
  std::string destination;
  std::string method;
  std::string path;
  uint64_t count = 0;
  uint64_t successes = 0;
  uint64_t best_us = 0;
  uint64_t worst_us = 0;
  uint64_t last_us = 0;
};

class TopTable {
 public:
  static constexpr size_t kDefaultMaxGroups = 1000;

  explicit TopTable(size_t max_groups = kDefaultMaxGroups,
                    size_t max_pending = RequestTable::kDefaultCapacity)
      : max_groups_(max_groups), pending_(max_pending) {}

  // Returns true when a request completed, i.e. the table changed.
  bool observe(const TapEvent& event);

  // Source Destination Method Path Count Best Worst Last Success, busiest first (ties in name
  // order, so that the table does not shuffle between redraws); at most `max_rows` groups when
  // it is not 0.
  std::string render(size_t max_rows = 0) const;

  size_t groups() const { return index_.size(); }

 private:
  void record(const PendingRequest& pending, const TapEvent& end);

  size_t max_groups_;
  RequestTable pending_;
  // Least recently updated first: that is the group dropped when a new one needs room.
  std::list<TopGroup> order_;
  std::unordered_map<std::string, std::list<TopGroup>::iterator> index_;
};

// What `top` shows for a source or destination address: the IP without the port for sources
// (a client's port changes with every connection and would split one caller into many rows).
std::string address_host(std::string_view address);

}  // namespace lmesh::cli
