// The answer to one control-API request: a whole response, or a stream of newline-delimited
// JSON events flushed one by one (watch-style endpoints such as /v1/resolve).
//
// Handlers receive it as a shared_ptr and may keep it: a stream outlives the handler call and
// is fed whenever there is news. Once the client has gone, open() turns false, the on_close
// callback runs once, and every further send does nothing, so a handler never writes to a
// dead connection.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace lmesh::api {

class Response {
 public:
  virtual ~Response() = default;

  // A whole response.
  virtual void send(int status, std::string_view content_type, std::string body) = 0;
  void json(int status, const nlohmann::json& body);
  // {"error": error, "detail": detail} with `status` (DESIGN.md: errors carry both).
  void error(int status, std::string_view error, std::string_view detail);

  // A stream: the head now, then one line per event, each written out at once.
  virtual void begin_stream(int status, std::string_view content_type) = 0;
  void begin_json_stream(int status = 200) { begin_stream(status, "application/x-ndjson"); }
  virtual void send_line(std::string line) = 0;  // adds the '\n'
  void send_event(const nlohmann::json& event);
  virtual void end_stream() = 0;

  virtual bool open() const = 0;
  // Bytes of this response written but not yet taken by the client (0 once it is closed). A
  // stream whose events may be dropped (tap) checks it to stay far below max_stream_backlog.
  virtual size_t backlog() const = 0;
  // Runs once when the client goes away before the response has ended.
  void on_close(std::function<void()> fn) { on_close_ = std::move(fn); }

 protected:
  // From the transport: the client is gone. Runs the on_close callback, once, unless the
  // response had already ended.
  void client_gone(bool ended) {
    if (ended || !on_close_) return;
    auto fn = std::exchange(on_close_, nullptr);
    fn();
  }

 private:
  std::function<void()> on_close_;
};

}  // namespace lmesh::api
