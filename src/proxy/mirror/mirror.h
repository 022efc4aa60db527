// Request mirroring (service profiles: `mirror {authority, percent}` on a route): a copy of a
// request goes to another service, balanced like any request, and its answer is read and
// dropped, so a new version can see production traffic without any client seeing its
// responses. The copy leaves once the original request is complete (its body, at most 64 KiB,
// kept as shared slices); it never delays or changes the original.
//
// Each worker owns a MirrorSet; a mirror lives until its response ends, fails or times out
// (--upstream-timeout), and is freed on a later loop turn.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/buffer/buffer.h"
#include "common/event/timer.h"
#include "common/http/message.h"
#include "proxy/balance/balancer.h"
#include "proxy/direction.h"
#include "proxy/discovery/discovery_cache.h"
#include "proxy/upstream/stream.h"

namespace lmesh::proxy {

class ProxyWorker;
class MirrorSet;

// What to copy: an HTTP/2-style head (origin-form target, :authority), the whole body and
// its trailers, and whether the original came as HTTP/1.1 (it then crosses the mesh hop with
// lmesh-orig-proto, as the original would).
struct MirroredRequest {
  http::RequestHead head;
  buffer::Buffer body;
  std::optional<http::HeaderMap> trailers;
  bool from_http1 = false;
};

class Mirror final : public event::DeferredDeletable, private UpstreamStream::Observer {
 public:
  Mirror(MirrorSet& set, ProxyWorker& worker, std::string authority, std::string dst,
         std::string route, MirroredRequest request);
  ~Mirror() override;

  void start();
  // Worker shutdown: stop now, report nothing.
  void cancel();

 private:
  void on_service(DiscoveryCache::Service* service);
  void send(const net::SocketAddress& endpoint);
  void finish(bool answered);
  // UpstreamStream::Observer: the answer is read and dropped.
  void on_upstream_head(http::ResponseHead& head, bool end_stream) override;
  void on_upstream_data(buffer::Slice data) override;
  void on_upstream_trailers(http::HeaderMap&) override {}
  void on_upstream_end() override { finish(true); }
  void on_upstream_request_sent() override {}
  void on_upstream_failed(ProxyError reason, const Error& cause, bool retryable) override;

  MirrorSet& set_;
  ProxyWorker& worker_;
  std::string authority_;  // the mirror backend
  std::string dst_;        // the service and route the original request was for (metrics)
  std::string route_;
  MirroredRequest request_;
  std::unique_ptr<DiscoveryCache::PendingLookup> lookup_;
  std::optional<balance::Pick> pick_;
  std::unique_ptr<UpstreamStream> upstream_;
  event::Timer timeout_;
  uint64_t sent_ns_ = 0;
  int status_ = 0;
  bool done_ = false;
};

class MirrorSet {
 public:
  explicit MirrorSet(ProxyWorker& worker) : worker_(worker) {}
  ~MirrorSet();

  void start(std::string authority, std::string dst, std::string route, MirroredRequest request);
  void close_all();
  size_t size() const { return live_.size(); }

 private:
  friend class Mirror;
  void done(Mirror& mirror);

  ProxyWorker& worker_;
  std::unordered_map<Mirror*, std::unique_ptr<Mirror>> live_;
};

}  // namespace lmesh::proxy
