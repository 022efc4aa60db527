#include "cli/request_table.h"

namespace lmesh::cli {

void RequestTable::insert(const std::string& key, PendingRequest request) {
  erase(key);
  if (capacity_ == 0) return;
  while (index_.size() >= capacity_) {
    index_.erase(order_.front().first);
    order_.pop_front();
  }
  order_.emplace_back(key, std::move(request));
  index_.emplace(key, std::prev(order_.end()));
}

PendingRequest* RequestTable::find(const std::string& key) {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &it->second->second;
}

void RequestTable::erase(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  order_.erase(it->second);
  index_.erase(it);
}

}  // namespace lmesh::cli
