#include "tap/tap_admission.h"

#include <algorithm>
#include <utility>

namespace lmesh::tap {
namespace {

std::string request_key(size_t proxy, std::string_view id) {
  return std::to_string(proxy) + "/" + std::string(id);
}

}  // namespace

TapAdmission::TapAdmission(double max_rps, Clock::time_point now)
    : rate_(max_rps), burst_(std::max(1.0, max_rps)), tokens_(burst_), last_(now) {}

bool TapAdmission::admit(size_t proxy, std::string_view kind, std::string_view id,
                         Clock::time_point now) {
  if (kind == "request_init") {
    std::chrono::duration<double> elapsed = now - last_;
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return true;
    }
    ++dropped_;
    // Past the bound, later events of refused requests go out (harmless: a reader ignores a
    // response without its request) rather than memory growing.
    if (refused_.size() < kMaxRefusedTracked) refused_.insert(request_key(proxy, id));
    return false;
  }
  if (kind != "response_init" && kind != "response_end") return true;
  if (refused_.empty()) return true;
  auto it = refused_.find(request_key(proxy, id));
  if (it == refused_.end()) return true;
  if (kind == "response_end") refused_.erase(it);
  return false;
}

}  // namespace lmesh::tap
