#include "destination/kubernetes/resource_watch.h"

#include <spdlog/spdlog.h>
#include <uv.h>

#include <nlohmann/json.hpp>

namespace lmesh::destination::kubernetes {
namespace {

// Only meshed pods matter (their ServiceAccount is an endpoint's identity): the API server
// filters the rest out, which keeps a busy cluster's pod churn off our loop. A pod that loses
// the label is sent as DELETED, as the API server does for objects leaving a selector.
// Slices without a Service are of no use either.
constexpr Resource kResources[kKinds] = {
    {Kind::kServices, "/api/v1/services", "", false},
    {Kind::kEndpointSlices, "/apis/discovery.k8s.io/v1/endpointslices",
     "kubernetes.io/service-name", false},
    {Kind::kPods, "/api/v1/pods", "lmesh.io/control-plane-ns", false},
    {Kind::kServiceProfiles, "/apis/lmesh.io/v1alpha1/serviceprofiles", "", true},
};

constexpr size_t kLoggedLineBytes = 200;

// RFC 3986 unreserved characters stay; everything else is %-encoded (a continue token is
// base64 with '=' and '/', a selector has '/').
std::string query_escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == '~';
    if (plain) {
      out += c;
    } else {
      auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out;
}

std::string_view excerpt(std::string_view line) {
  return line.substr(0, kLoggedLineBytes);
}

double seconds(std::chrono::milliseconds d) {
  return static_cast<double>(d.count()) / 1000;
}

// Holds a finished call until the loop has left its callback.
struct CallHolder final : event::DeferredDeletable {
  explicit CallHolder(std::unique_ptr<api::Call> c) : call(std::move(c)) {}
  std::unique_ptr<api::Call> call;
};

}  // namespace

const Resource& resource(Kind kind) {
  return kResources[static_cast<size_t>(kind)];
}

ResourceWatch::ResourceWatch(ApiConnection& api, Kind kind, Handler& handler,
                             ResourceWatchOptions options)
    : api_(api),
      resource_(resource(kind)),
      handler_(handler),
      options_(options),
      timer_(api.worker().loop(), [this] { on_timer(); }),
      stall_(api.worker().loop(), [this] { on_stalled(); }),
      rng_(static_cast<unsigned>(uv_hrtime())) {}

ResourceWatch::~ResourceWatch() {
  // Cancelled before the client goes (the backend declares the connection first).
  watch_.reset();
  call_.reset();
}

void ResourceWatch::list() {
  watch_.reset();
  stall_.disarm();
  state_ = State::kListing;
  items_.clear();
  continue_.clear();
  request_page();
}

void ResourceWatch::request_page() {
  std::string target = std::string(resource_.path) + "?limit=" + std::to_string(options_.page_size);
  if (!resource_.label_selector.empty()) {
    target += "&labelSelector=" + query_escape(resource_.label_selector);
  }
  if (!continue_.empty()) target += "&continue=" + query_escape(continue_);
  call_ = api_.client().request(
      "GET", api_.target(target), "",
      [this](Result<api::ClientResponse> response) { on_page(std::move(response)); },
      api_.headers());
}

void ResourceWatch::on_page(Result<api::ClientResponse> response) {
  retire_call();
  auto retry = [this](const std::string& why) {
    auto delay = api_.client().backoff(list_attempt_++);
    spdlog::warn("kubernetes list of {} failed, again in {}ms: {}", name(), delay.count(), why);
    list_after(delay);
  };
  if (!response) {
    retry(response.error().describe());
    return;
  }
  if (response->status == 404 && resource_.optional) {
    // The CRD is not installed (or was removed): no objects of this kind, which is a state.
    if (!absent_) {
      spdlog::info(
          "kubernetes {} not served by the API server (404: its CRD is not installed): "
          "none; checking again every {:.1f}s",
          name(), seconds(options_.absent_recheck));
      absent_ = true;
      bool relist = std::exchange(listed_, true);
      handler_.on_listed(resource_.kind, {}, relist);
    }
    list_after(options_.absent_recheck);
    return;
  }
  if (response->status == 410 && !continue_.empty()) {
    // The continue token expired while paging: start the list over.
    spdlog::info("kubernetes list of {}: continue token expired, listing again", name());
    list();
    return;
  }
  if (response->status != 200) {
    retry("the API server answered " + parse_status(response->status, response->body).describe());
    return;
  }
  auto page = parse_list(response->body);
  if (!page) {
    retry("not a list: " + page.error().describe());
    return;
  }
  for (auto& item : page->items) items_.push_back(std::move(item));
  if (!page->continue_token.empty()) {
    continue_ = std::move(page->continue_token);
    request_page();
    return;
  }
  rv_ = std::move(page->resource_version);
  list_attempt_ = 0;
  absent_ = false;
  bool relist = std::exchange(listed_, true);
  spdlog::info("kubernetes listed {} objects={} resourceVersion={}", name(), items_.size(), rv_);
  std::vector<nlohmann::json> items = std::move(items_);
  items_.clear();
  handler_.on_listed(resource_.kind, std::move(items), relist);
  watch();
}

void ResourceWatch::list_after(std::chrono::milliseconds delay) {
  state_ = State::kWaiting;
  timer_.arm(delay);
}

void ResourceWatch::on_timer() {
  if (state_ == State::kWaiting) list();
}

void ResourceWatch::watch() {
  state_ = State::kWatching;
  watch_status_ = 0;
  api::WatchCallbacks callbacks;
  callbacks.target = [this] { return watch_target(); };
  callbacks.headers = [this] { return api_.headers(); };
  callbacks.on_open = [this](int status) { return on_watch_open(status); };
  callbacks.on_line = [this](std::string_view line) { on_watch_line(line); };
  callbacks.on_error = [this](const Error& why, std::chrono::milliseconds retry_in) {
    on_watch_error(why, retry_in);
  };
  watch_ = api_.client().watch(watch_target(), std::move(callbacks));
}

std::string ResourceWatch::watch_target() {
  auto base = static_cast<unsigned>(options_.watch_timeout.count());
  unsigned timeout = base + std::uniform_int_distribution<unsigned>(0, base)(rng_);
  watch_timeout_s_ = timeout;
  std::string target = std::string(resource_.path) +
                       "?watch=1&allowWatchBookmarks=true&resourceVersion=" + query_escape(rv_) +
                       "&timeoutSeconds=" + std::to_string(timeout);
  if (!resource_.label_selector.empty()) {
    target += "&labelSelector=" + query_escape(resource_.label_selector);
  }
  return api_.target(target);
}

bool ResourceWatch::on_watch_open(int status) {
  if (state_ != State::kWatching) return false;
  watch_status_ = status;
  if (status == 200) {
    stall_.arm(std::chrono::seconds(watch_timeout_s_) + options_.stall_grace);
    return true;
  }
  if (status == 410 || (status == 404 && resource_.optional)) {
    // Our resourceVersion is gone from the server's history, or the CRD went away.
    spdlog::info("kubernetes watch of {} answered {}: listing again", name(), status);
    relist_expired();
    return false;
  }
  // 401/403/5xx: api::Client retries with backoff. The body (a Status) is logged below when it
  // arrives as a line; an error body need not end with one, so the status is logged here too.
  spdlog::warn("kubernetes watch of {} answered {}, retrying", name(), status);
  return true;
}

void ResourceWatch::on_watch_line(std::string_view line) {
  if (state_ != State::kWatching) return;  // a re-list is on its way
  if (watch_status_ != 200) {
    spdlog::warn("kubernetes watch of {} refused, retrying: {}", name(),
                 parse_status(watch_status_, line).describe());
    return;
  }
  auto event = parse_watch_event(line);
  if (!event) {
    handler_.on_malformed(resource_.kind, event.error(), excerpt(line));
    return;
  }
  if (!event->resource_version.empty()) rv_ = event->resource_version;
  if (is_expired(*event)) {
    spdlog::info("kubernetes watch of {} expired ({}): listing again", name(),
                 event->status.describe());
    relist_expired();
  } else if (event->type == EventType::kError) {
    // The API server ends the stream after an ERROR; the watch resumes from rv_.
    spdlog::warn("kubernetes watch of {}: {}", name(), event->status.describe());
  } else {
    expired_in_a_row_ = 0;
  }
  handler_.on_event(resource_.kind, std::move(*event));
}

void ResourceWatch::relist_expired() {
  unsigned n = expired_in_a_row_++;
  list_after(n == 0 ? std::chrono::milliseconds(0) : api_.client().backoff(n - 1));
}

void ResourceWatch::on_watch_error(const Error& why, std::chrono::milliseconds retry_in) {
  if (state_ != State::kWatching) return;
  stall_.disarm();
  if (why.code() == ErrorCode::kClosed) {
    spdlog::debug("kubernetes watch of {} ended, resuming from resourceVersion {} in {}ms", name(),
                  rv_, retry_in.count());
  } else {
    spdlog::warn("kubernetes watch of {} broke ({}), resuming from resourceVersion {} in {}ms",
                 name(), why.describe(), rv_, retry_in.count());
  }
}

void ResourceWatch::on_stalled() {
  if (state_ != State::kWatching) return;
  spdlog::warn(
      "kubernetes watch of {} still open {:.1f}s after its timeoutSeconds: presumed dead, "
      "watching again from resourceVersion {}",
      name(), seconds(options_.stall_grace), rv_);
  watch();  // drops the old watch (a timer callback: not inside any of its callbacks)
}

void ResourceWatch::retire_call() {
  if (call_) api_.worker().defer_delete(std::make_unique<CallHolder>(std::move(call_)));
}

}  // namespace lmesh::destination::kubernetes
