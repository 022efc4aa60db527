#include "cli/tap_client.h"

#include <uv.h>

#include <csignal>
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/tap_errors.h"
#include "common/api/client.h"
#include "common/event/timer.h"
#include "common/event/uv_handle.h"
#include "common/event/worker.h"

namespace lmesh::cli {
namespace {

using namespace std::chrono_literals;

api::ClientOptions client_options() {
  api::ClientOptions o;
  o.protocol = api::ClientProtocol::kHttp1;
  o.connect_timeout = 3s;
  o.request_timeout = 10s;  // for a stream: until its head, which lmesh-tap sends at once
  return o;
}

void print_failure(std::string_view command, const std::string& message) {
  std::fflush(stdout);  // what was printed before the failure comes first
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(command.size()), command.data(),
               message.c_str());
}

// One tap stream on its own loop. Everything ends in finish(), which drops the watch and
// closes every handle, so that the loop ends and Worker::run() returns.
class TapStream {
 public:
  TapStream(event::Worker& worker, api::Client& client, std::string_view command,
            const net::HostPort& server, StreamHandlers handlers)
      : worker_(worker),
        client_(client),
        command_(command),
        server_(server),
        handlers_(std::move(handlers)) {}

  void start(const std::string& target) {
    // SIGINT is how a person ends a tap: an orderly end with exit 0, not a kill.
    sigint_.init(uv_signal_init, worker_.loop());
    sigint_.get()->data = this;
    uv_signal_start(sigint_.get(), &TapStream::on_sigint, SIGINT);
    if (handlers_.on_tick && handlers_.tick_every.count() > 0) {
      tick_ = std::make_unique<event::Timer>(worker_.loop(), [this] {
        handlers_.on_tick();
        tick_->arm(handlers_.tick_every);
      });
      tick_->arm(handlers_.tick_every);
    }
    api::WatchCallbacks callbacks;
    callbacks.on_open = [this](int status) {
      if (ending_) return false;  // a retry the watch made before ended() ran: stop it there
      status_ = status;
      return true;  // a refusal's body still comes, as lines: it holds the detail
    };
    callbacks.on_line = [this](std::string_view line) {
      if (ending_) return;
      if (status_ != 200) {
        refusal_body_.append(line);
      } else if (handlers_.on_line) {
        handlers_.on_line(line);
      }
    };
    callbacks.on_error = [this](const Error& why, std::chrono::milliseconds) {
      // Called from inside the watch, which arms its retry right after: it is dropped on a
      // later turn instead. Its retry timer may fire first (full jitter can pick 0 ms), hence
      // ending_, which turns that retry away in on_open.
      if (ending_) return;
      ending_ = true;
      worker_.post([this, why] { ended(why); });
    };
    watch_ = client_.watch(target, std::move(callbacks));
  }

  int exit_code() const { return exit_code_; }

 private:
  void ended(const Error& why) {
    if (done_) return;  // SIGINT came first
    if (status_ == 0) {
      print_failure(command_, unreachable_message(server_, why));
      return finish(kExitFailure);
    }
    if (status_ != 200) {
      print_failure(command_, refusal_message(server_, status_, refusal_body_));
      return finish(kExitFailure);
    }
    if (why.code() == ErrorCode::kClosed) return finish(0);  // lmesh-tap ended the stream
    print_failure(command_, "the stream from lmesh-tap at " + server_.to_string() +
                                " broke: " + why.describe());
    finish(kExitFailure);
  }

  void finish(int code) {
    if (done_) return;
    done_ = true;
    ending_ = true;
    exit_code_ = code;
    watch_.reset();
    tick_.reset();
    sigint_.close();
    worker_.stop();
  }

  static void on_sigint(uv_signal_t* handle, int) {
    auto* self = static_cast<TapStream*>(handle->data);
    if (self != nullptr) self->finish(0);
  }

  event::Worker& worker_;
  api::Client& client_;
  std::string_view command_;
  const net::HostPort& server_;
  StreamHandlers handlers_;
  event::UvHandle<uv_signal_t> sigint_;
  std::unique_ptr<event::Timer> tick_;
  std::unique_ptr<api::Watch> watch_;
  int status_ = 0;  // of the answer's head; 0 until it came
  std::string refusal_body_;
  bool ending_ = false;  // the first end or failure is in; nothing after it counts
  bool done_ = false;
  int exit_code_ = 0;
};

}  // namespace

int follow_tap_stream(std::string_view command, const net::HostPort& server,
                      const std::string& target, StreamHandlers handlers) {
  auto address = server.resolve();
  if (!address) {
    print_failure(command, unreachable_message(server, address.error()));
    return kExitFailure;
  }
  event::Worker worker(0);
  api::Client client(worker, *address, client_options());
  TapStream stream(worker, client, command, server, std::move(handlers));
  stream.start(target);
  worker.run();
  return stream.exit_code();
}

std::optional<std::string> fetch_from_tap(std::string_view command, const net::HostPort& server,
                                          const std::string& target) {
  auto address = server.resolve();
  if (!address) {
    print_failure(command, unreachable_message(server, address.error()));
    return std::nullopt;
  }
  event::Worker worker(0);
  api::Client client(worker, *address, client_options());
  std::optional<Result<api::ClientResponse>> answer;
  std::unique_ptr<api::Call> call;
  call = client.request("GET", target, "", [&](Result<api::ClientResponse> r) {
    answer = std::move(r);
    // Not from inside the call's own callback: it is dropped on the next turn.
    worker.post([&] {
      call.reset();
      worker.stop();
    });
  });
  worker.run();
  if (!answer) return std::nullopt;  // cannot happen: the loop ends only after the answer
  if (!*answer) {
    print_failure(command, unreachable_message(server, answer->error()));
    return std::nullopt;
  }
  if ((*answer)->status != 200) {
    print_failure(command, refusal_message(server, (*answer)->status, (*answer)->body));
    return std::nullopt;
  }
  return std::move((*answer)->body);
}

}  // namespace lmesh::cli
