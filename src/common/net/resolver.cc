#include "common/net/resolver.h"

#include <netdb.h>

namespace lmesh::net {

// Outlives a cancelled Resolution: libuv still calls back (with UV_ECANCELED) and the request
// frees itself there.
struct Resolution::Request {
  uv_getaddrinfo_t req;
  Resolution* owner;  // null once the owner is gone
  uint16_t port;
  std::string host;
  DoneFn done;
};

Result<std::unique_ptr<Resolution>> Resolution::start(uv_loop_t* loop, const HostPort& target,
                                                      DoneFn done) {
  std::unique_ptr<Resolution> self(new Resolution());
  auto* r = new Request{{}, self.get(), target.port, target.host, std::move(done)};
  r->req.data = r;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc =
      uv_getaddrinfo(loop, &r->req, &Resolution::on_resolved, r->host.c_str(), nullptr, &hints);
  if (rc != 0) {
    delete r;
    return fail(Error::from_uv(rc, "resolve " + target.host));
  }
  self->request_ = r;
  return self;
}

Resolution::~Resolution() {
  if (request_ == nullptr) return;
  request_->owner = nullptr;
  request_->done = nullptr;
  uv_cancel(reinterpret_cast<uv_req_t*>(&request_->req));
}

void Resolution::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  auto* r = static_cast<Request*>(req->data);
  Result<SocketAddress> outcome = fail(Error::from_uv(status, "resolve " + r->host));
  if (status == 0 && res != nullptr) {
    SocketAddress a = SocketAddress::from_sockaddr(res->ai_addr);
    a.set_port(r->port);
    outcome = a;
  }
  if (res != nullptr) uv_freeaddrinfo(res);
  if (r->owner != nullptr) r->owner->request_ = nullptr;
  DoneFn done = std::move(r->done);
  delete r;
  if (done) done(std::move(outcome));
}

}  // namespace lmesh::net
