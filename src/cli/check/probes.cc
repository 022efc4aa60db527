#include "cli/check/probes.h"

#include <functional>
#include <optional>
#include <utility>

#include "common/api/client.h"
#include "common/event/timer.h"
#include "common/event/worker.h"
#include "common/net/socket_address.h"
#include "common/net/tcp_connection.h"
#include "common/tls/certificate.h"
#include "common/tls/session.h"

namespace lmesh::cli::check {
namespace {

// A person reads these: the transport's "connect: connection refused" becomes the reason.
// TLS failures are kRefused too, and keep their own words ("tls identity mismatch: ...").
std::string reason(const Error& why) {
  if (why.code() == ErrorCode::kRefused && !tls::failure_reason(why)) return "connection refused";
  return why.describe();
}

std::string timed_out(std::chrono::milliseconds timeout) {
  auto ms = timeout.count();
  if (ms % 1000 == 0) return "timed out after " + std::to_string(ms / 1000) + "s";
  return "timed out after " + std::to_string(ms) + "ms";
}

// One GET on its own api::Client (HTTP/1.1 opens a connection per call anyway).
class HttpRunner {
 public:
  HttpRunner(event::Worker& worker, const HttpProbe& probe, std::chrono::milliseconds timeout,
             std::function<void()> done)
      : probe_(probe), timeout_(timeout), done_(std::move(done)) {
    auto host_port = net::HostPort::parse(probe.addr);
    Result<net::SocketAddress> address =
        host_port ? host_port->resolve() : Result<net::SocketAddress>(fail(host_port.error()));
    if (!address) {
      // Reported on the loop like every other outcome, never from inside the constructor.
      worker.post([this, why = address.error()] { finish_with_error(reason(why)); });
      return;
    }
    api::ClientOptions options;
    options.protocol = api::ClientProtocol::kHttp1;
    options.connect_timeout = timeout;
    options.request_timeout = timeout;
    client_ = std::make_unique<api::Client>(worker, *address, options);
    call_ = client_->request("GET", probe.path, "", [this](Result<api::ClientResponse> r) {
      if (finished_) return;
      if (r) {
        probe_.out->status = r->status;
        probe_.out->body = std::move(r->body);
        finish();
      } else if (r.error().code() == ErrorCode::kTimeout) {
        finish_with_error(timed_out(timeout_));  // one wording, whichever timer fired
      } else {
        finish_with_error(reason(r.error()));
      }
    });
  }

  bool finished() const { return finished_; }
  void finish_with_error(std::string why) {
    if (finished_) return;
    probe_.out->error = std::move(why);
    finish();
  }
  // Drops the call (cancelling it if it is still out). Not from inside its own callback.
  void drop() { call_.reset(); }

 private:
  void finish() {
    finished_ = true;
    done_();
  }

  HttpProbe probe_;
  std::chrono::milliseconds timeout_;
  std::function<void()> done_;
  std::unique_ptr<api::Client> client_;
  std::unique_ptr<api::Call> call_;
  bool finished_ = false;
};

// One TLS handshake; the connection is closed as soon as it is done either way.
class TlsRunner final : public net::TcpConnection::Handler {
 public:
  TlsRunner(event::Worker& worker, const TlsProbe& probe,
            std::shared_ptr<const tls::Context> context, std::function<void()> done)
      : probe_(probe), done_(std::move(done)), tcp_(worker, *this) {
    auto started = start(std::move(context));
    if (!started) {
      worker.post([this, why = started.error()] { finish_with_error(reason(why)); });
    }
  }

  bool finished() const { return finished_; }
  bool closed() const { return closed_; }
  void finish_with_error(std::string why) {
    if (finished_) return;
    probe_.out->error = std::move(why);
    finish();
  }
  void close() {
    if (close_started_) return;
    close_started_ = true;
    tcp_.close(net::CloseMode::kNoFlush);
  }
  std::function<void()> on_all_closed;

  // net::TcpConnection::Handler
  void on_connected() override {
    if (finished_) return;
    auto* session = dynamic_cast<tls::Session*>(tcp_.transport_layer());
    // The session verified the chain and the name before calling this; say so only when it
    // really is the TLS session that completed.
    if (session == nullptr || !session->established()) {
      return finish_with_error("the handshake did not complete");
    }
    finish();
  }
  void on_read(buffer::Slice) override {}
  void on_eof() override { finish_with_error("the proxy closed the connection"); }
  void on_error(const Error& error) override {
    auto why = tls::failure_reason(error);
    if (why == tls::FailureReason::kUntrusted) {
      return finish_with_error("its certificate is not issued by the current trust anchor");
    }
    if (why == tls::FailureReason::kExpired) {
      return finish_with_error("its certificate (or its chain) has expired");
    }
    finish_with_error(reason(error));
  }
  void on_closed() override {
    closed_ = true;
    if (on_all_closed) on_all_closed();
  }

 private:
  Result<void> start(std::shared_ptr<const tls::Context> context) {
    auto host_port = net::HostPort::parse(probe_.addr);
    if (!host_port) return fail(host_port.error());
    auto address = host_port->resolve();
    if (!address) return fail(address.error());
    // SNI carries the identity, as lmesh-tap's scrapes of the same port do.
    tls::ClientSessionOptions options{probe_.identity, probe_.identity, nullptr};
    auto session = tls::Session::client(std::move(context), options);
    if (!session) return fail(session.error());
    if (auto ok = tcp_.set_transport_layer(std::move(*session)); !ok) return ok;
    if (auto ok = tcp_.connect(*address); !ok) return ok;
    tcp_.read_start();
    return {};
  }

  void finish() {
    finished_ = true;
    done_();
  }

  TlsProbe probe_;
  std::function<void()> done_;
  net::TcpConnection tcp_;
  bool finished_ = false;
  bool close_started_ = false;
  bool closed_ = false;
};

// The whole run: counts outcomes, enforces the deadline, and ends the loop only once every
// call is dropped and every connection and timer closed (Worker::run asserts none is left).
class ProbeRun {
 public:
  ProbeRun(event::Worker& worker, const ProbeSet& probes, std::chrono::milliseconds timeout)
      : worker_(worker), timeout_(timeout) {
    pending_ = probes.http.size() + probes.tls.size();
    for (const HttpProbe& p : probes.http) {
      http_.push_back(std::make_unique<HttpRunner>(worker, p, timeout, [this] { one_done(); }));
    }
    for (const TlsProbe& p : probes.tls) {
      tls_.push_back(
          std::make_unique<TlsRunner>(worker, p, probes.tls_context, [this] { one_done(); }));
    }
    // api::Client's own timeouts cover connect and answer separately; this bounds the sum,
    // and the TLS handshakes, which have none of their own.
    deadline_ = std::make_unique<event::Timer>(worker.loop(), [this] { expire(); });
    deadline_->arm(timeout + std::chrono::milliseconds(500));
    if (pending_ == 0) worker.post([this] { wind_down(); });
  }

 private:
  void one_done() {
    if (--pending_ == 0 && !winding_down_) {
      // Not from inside a runner's callback, which is still on the stack.
      worker_.post([this] { wind_down(); });
    }
  }

  void expire() {
    for (auto& h : http_) h->finish_with_error(timed_out(timeout_));
    for (auto& t : tls_) t->finish_with_error(timed_out(timeout_));
  }

  void wind_down() {
    if (winding_down_) return;
    winding_down_ = true;
    deadline_.reset();
    for (auto& h : http_) h->drop();
    for (auto& t : tls_) {
      t->on_all_closed = [this] { maybe_stop(); };
      t->close();
    }
    maybe_stop();
  }

  void maybe_stop() {
    for (auto& t : tls_) {
      if (!t->closed()) return;
    }
    if (stopped_) return;
    stopped_ = true;
    worker_.stop();
  }

  event::Worker& worker_;
  std::chrono::milliseconds timeout_;
  size_t pending_ = 0;
  std::vector<std::unique_ptr<HttpRunner>> http_;
  std::vector<std::unique_ptr<TlsRunner>> tls_;
  std::unique_ptr<event::Timer> deadline_;
  bool winding_down_ = false;
  bool stopped_ = false;
};

}  // namespace

void run_probes(const ProbeSet& probes, std::chrono::milliseconds timeout) {
  event::Worker worker(0);
  {
    ProbeRun run(worker, probes, timeout);
    worker.run();
  }
}

Result<std::shared_ptr<const tls::Context>> probe_tls_context(const std::string& anchors_pem) {
  auto anchors = tls::Certificate::all_from_pem(anchors_pem);
  if (!anchors) return fail(anchors.error());
  tls::ContextOptions options;
  options.role = tls::Role::kClient;
  options.trust_anchors = std::move(*anchors);
  options.alpn = {"http/1.1"};
  return tls::Context::make(options);
}

}  // namespace lmesh::cli::check
