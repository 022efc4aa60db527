#include "proxy/mirror/mirror.h"

#include <spdlog/spdlog.h>
#include <uv.h>

#include "proxy/proxy_worker.h"
#include "proxy/upstream/http1_stream.h"
#include "proxy/upstream/http2_stream.h"

namespace lmesh::proxy {

Mirror::Mirror(MirrorSet& set, ProxyWorker& worker, std::string authority, std::string dst,
               std::string route, MirroredRequest request)
    : set_(set),
      worker_(worker),
      authority_(std::move(authority)),
      dst_(std::move(dst)),
      route_(std::move(route)),
      request_(std::move(request)),
      timeout_(worker.worker().loop(), [this] { finish(false); }) {}

Mirror::~Mirror() {
  cancel();
}

void Mirror::start() {
  timeout_.arm(worker_.config().upstream_timeout);
  auto found = worker_.discovery()->lookup(authority_, [this](Result<DiscoveryCache::Service*> r) {
    lookup_.reset();  // answered: spent (this runs from inside it, which allows that)
    if (!r) {
      finish(false);
      return;
    }
    on_service(*r);
  });
  if (found.pending) {
    lookup_ = std::move(found.pending);
    return;
  }
  on_service(found.service);
}

void Mirror::on_service(DiscoveryCache::Service* service) {
  if (service == nullptr) {
    // Mirrors go only to services discovery knows: a typo must not send copies of production
    // traffic to whatever a name resolves to.
    spdlog::debug("mirror {}: unknown to the destination service", authority_);
    finish(false);
    return;
  }
  auto pick = worker_.discovery()->pick(*service);
  if (!pick) {
    finish(false);
    return;
  }
  pick_ = std::move(*pick);
  sent_ns_ = uv_hrtime();
  pick_->start(sent_ns_);
  send(pick_->address());
}

void Mirror::send(const net::SocketAddress& endpoint) {
  Direction d = Direction::kOutbound;
  bool end = request_.body.empty() && !request_.trailers;
  bool meshed = worker_.endpoint_identities().is_meshed(endpoint);
  if (request_.from_http1 && !meshed) {
    upstream_ = Http1UpstreamStream::open(worker_.pool(d), endpoint, request_.head, end, *this);
  } else {
    if (request_.from_http1) request_.head.headers.add("lmesh-orig-proto", "HTTP/1.1");
    auto opened =
        Http2UpstreamStream::open(worker_.h2_pool(d), endpoint, request_.head, end, *this);
    if (!opened) {
      finish(false);
      return;
    }
    upstream_ = std::move(*opened);
  }
  if (end) return;
  for (size_t i = 0; i < request_.body.slice_count(); ++i) {
    upstream_->send_data(request_.body.slice(i).share(), false);
  }
  if (request_.trailers) {
    upstream_->send_trailers(*request_.trailers);
  } else {
    upstream_->send_data(buffer::Slice(), true);
  }
}

void Mirror::on_upstream_head(http::ResponseHead& head, bool) {
  if (!head.informational()) status_ = head.status;
}

void Mirror::on_upstream_data(buffer::Slice data) {
  if (upstream_ != nullptr) upstream_->consume(data.size());  // dropped, window given back
}

void Mirror::on_upstream_failed(ProxyError, const Error& cause, bool) {
  spdlog::debug("mirror to {} failed: {}", authority_, cause.describe());
  finish(false);
}

void Mirror::finish(bool answered) {
  if (std::exchange(done_, true)) return;
  timeout_.disarm();
  lookup_.reset();
  bool success = answered && status_ < 500;
  if (pick_) {
    uint64_t now = uv_hrtime();
    pick_->complete(now, now - sent_ns_, success);
    pick_.reset();
  }
  if (upstream_ != nullptr) {
    if (!answered) upstream_->cancel();
    worker_.worker().defer_delete(std::move(upstream_));  // may be on the stack
  }
  worker_.metrics().count_mirror(dst_, route_, success ? "success" : "failure");
  set_.done(*this);
}

void Mirror::cancel() {
  done_ = true;
  lookup_.reset();
  pick_.reset();
  if (upstream_ != nullptr) {
    upstream_->cancel();
    worker_.worker().defer_delete(std::move(upstream_));
  }
}

MirrorSet::~MirrorSet() {
  close_all();
}

void MirrorSet::start(std::string authority, std::string dst, std::string route,
                      MirroredRequest request) {
  auto m = std::make_unique<Mirror>(*this, worker_, std::move(authority), std::move(dst),
                                    std::move(route), std::move(request));
  Mirror* raw = m.get();
  live_.emplace(raw, std::move(m));
  raw->start();
}

void MirrorSet::done(Mirror& mirror) {
  auto it = live_.find(&mirror);
  if (it == live_.end()) return;
  // Its callbacks may be on the stack: freed on a later loop turn.
  worker_.worker().defer_delete(std::move(it->second));
  live_.erase(it);
}

void MirrorSet::close_all() {
  for (auto& [raw, m] : live_) m->cancel();
  live_.clear();
}

}  // namespace lmesh::proxy
