#include "cli/top_table.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "cli/figures.h"
#include "cli/text_table.h"

namespace lmesh::cli {
namespace {

// The proxy's own side has a pod name; the other side only its address.
std::string source_of(const TapEvent& request) {
  if (request.direction == "outbound" && !request.proxy.pod.empty()) return request.proxy.pod;
  return address_host(request.source);
}

std::string destination_of(const TapEvent& request) {
  if (request.direction == "inbound" && !request.proxy.pod.empty()) return request.proxy.pod;
  return request.destination;
}

// Linkerd's classification: a server error, a gRPC failure or a broken stream.
bool succeeded(const PendingRequest& pending, const TapEvent& end) {
  if (!end.reset.empty() || !end.error.empty()) return false;
  if (end.grpc_status && *end.grpc_status != 0) return false;
  return !(pending.status && *pending.status >= 500);
}

}  // namespace

std::string address_host(std::string_view address) {
  auto colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::string(address);
  std::string_view host = address.substr(0, colon);
  if (host.find(':') != std::string_view::npos && !host.starts_with('[')) {
    return std::string(address);  // a bare IPv6 address without a port
  }
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  return std::string(host);
}

bool TopTable::observe(const TapEvent& event) {
  switch (event.kind) {
    case TapEventKind::kRequestInit:
      pending_.insert(request_key(event), PendingRequest{event, std::nullopt, 0});
      return false;
    case TapEventKind::kResponseInit:
      if (PendingRequest* p = pending_.find(request_key(event)); p != nullptr) {
        p->status = event.status;
        p->latency_us = event.latency_us;
      }
      return false;
    case TapEventKind::kResponseEnd: {
      std::string key = request_key(event);
      PendingRequest* p = pending_.find(key);
      if (p == nullptr) return false;  // its request came before the tap: no route to file it under
      record(*p, event);
      pending_.erase(key);
      return true;
    }
    default: return false;
  }
}

void TopTable::record(const PendingRequest& pending, const TapEvent& end) {
  const TapEvent& request = pending.request;
  TopGroup probe{source_of(request), destination_of(request), request.method, request.path};
  std::string key =
      probe.source + '\n' + probe.destination + '\n' + probe.method + '\n' + probe.path;
  auto it = index_.find(key);
  if (it == index_.end()) {
    if (max_groups_ == 0) return;
    while (index_.size() >= max_groups_) {
      const TopGroup& old = order_.front();
      index_.erase(old.source + '\n' + old.destination + '\n' + old.method + '\n' + old.path);
      order_.pop_front();
    }
    order_.push_back(std::move(probe));
    it = index_.emplace(key, std::prev(order_.end())).first;
  } else {
    order_.splice(order_.end(), order_, it->second);  // now the most recently updated
  }
  TopGroup& g = *it->second;
  // Request start to response end, as Linkerd's top measures it.
  uint64_t total_us = pending.latency_us + end.duration_us;
  g.best_us = g.count == 0 ? total_us : std::min(g.best_us, total_us);
  g.worst_us = std::max(g.worst_us, total_us);
  g.last_us = total_us;
  g.count++;
  if (succeeded(pending, end)) g.successes++;
}

std::string TopTable::render(size_t max_rows) const {
  std::vector<const TopGroup*> sorted;
  for (const TopGroup& g : order_) sorted.push_back(&g);
  std::sort(sorted.begin(), sorted.end(), [](const TopGroup* a, const TopGroup* b) {
    return std::tie(b->count, a->source, a->destination, a->method, a->path) <
           std::tie(a->count, b->source, b->destination, b->method, b->path);
  });
  if (max_rows != 0 && sorted.size() > max_rows) sorted.resize(max_rows);
  std::vector<std::vector<std::string>> rows;
  for (const TopGroup* g : sorted) {
    rows.push_back(
        {g->source, g->destination, g->method, g->path, std::to_string(g->count),
         format_latency_us(g->best_us), format_latency_us(g->worst_us),
         format_latency_us(g->last_us),
         format_percent(static_cast<double>(g->successes) / static_cast<double>(g->count))});
  }
  return render_table({{"Source", Align::kLeft},
                       {"Destination", Align::kLeft},
                       {"Method", Align::kLeft},
                       {"Path", Align::kLeft},
                       {"Count", Align::kRight},
                       {"Best", Align::kRight},
                       {"Worst", Align::kRight},
                       {"Last", Align::kRight},
                       {"Success", Align::kRight}},
                      rows);
}

}  // namespace lmesh::cli
