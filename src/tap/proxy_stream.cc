#include "tap/proxy_stream.h"

#include <chrono>

namespace lmesh::tap {
namespace {

api::ClientOptions proxy_options() {
  api::ClientOptions o;
  // One stream per proxy per tap: HTTP/2 would multiplex nothing here.
  o.protocol = api::ClientProtocol::kHttp1;
  o.connect_timeout = std::chrono::milliseconds(2'000);
  o.request_timeout = std::chrono::milliseconds(5'000);  // until the stream's head
  // The watch would retry after its backoff; the stream is dropped on its first end, long
  // before such a retry could run.
  o.backoff_min = std::chrono::milliseconds(60'000);
  o.backoff_max = std::chrono::milliseconds(60'000);
  o.max_response_bytes = 1 << 20;  // one event line
  return o;
}

// Owns a finished watch and its client until the loop has unwound from their callbacks.
struct Leftover final : event::DeferredDeletable {
  std::unique_ptr<api::Client> client;  // declared first: destroyed after the watch
  std::unique_ptr<api::Watch> watch;
};

}  // namespace

ProxyStream::ProxyStream(event::Worker& worker, const Pod& pod, const std::string& target,
                         const TapIdentity& identity, Events events)
    : worker_(worker), events_(std::move(events)) {
  api::ClientOptions options = proxy_options();
  if (auto secured = identity.secure_tap(pod, options); !secured) {
    refused_ =
        std::make_unique<event::Timer>(worker.loop(), [this, why = secured.error()] { end(why); });
    refused_->arm(std::chrono::milliseconds(0));
    return;
  }
  client_ = std::make_unique<api::Client>(worker, pod.admin, std::move(options));
  api::WatchCallbacks callbacks;
  callbacks.on_open = [this](int status) {
    if (status == 200) return true;
    end(Error(ErrorCode::kRefused, "proxy answered HTTP " + std::to_string(status)));
    return false;
  };
  callbacks.on_line = [this](std::string_view line) {
    if (!ended_ && events_.line) events_.line(line);
  };
  callbacks.on_error = [this](const Error& why, std::chrono::milliseconds) { end(why); };
  watch_ = client_->watch(target, std::move(callbacks));
}

ProxyStream::~ProxyStream() {
  auto leftover = std::make_unique<Leftover>();
  leftover->client = std::move(client_);
  leftover->watch = std::move(watch_);
  worker_.defer_delete(std::move(leftover));
}

void ProxyStream::end(const Error& why) {
  if (ended_) return;
  ended_ = true;
  auto ended = std::move(events_.ended);
  events_ = Events{};
  if (ended) ended(why);
}

}  // namespace lmesh::tap
