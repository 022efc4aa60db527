// One control-API request as api::Client's calls and watches see it, whatever carries it: an
// HTTP/1.1 connection of its own (client.cc) or a stream of the client's shared HTTP/2
// connection (client_h2.cc). Internal to src/common/api.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/api/client.h"
#include "common/buffer/slice.h"
#include "common/http/message.h"
#include "common/result.h"

namespace lmesh::api {

// In order: head, body pieces, then complete or failed; nothing after those, or after
// cancel().
struct ExchangeEvents {
  std::function<void(const http::ResponseHead&)> head;
  std::function<void(buffer::Slice)> body;
  std::function<void()> complete;
  std::function<void(Error)> failed;
};

struct ExchangeRequest {
  std::string method;
  std::string target;
  std::string body;
  bool stream = false;     // a watch: no deadline once the head has come
  RequestHeaders headers;  // extra fields, e.g. Authorization
};

class ClientExchange {
 public:
  using Events = ExchangeEvents;
  using Request = ExchangeRequest;

  // No event after this; the exchange frees itself.
  virtual void cancel() = 0;

 protected:
  ~ClientExchange() = default;
};

}  // namespace lmesh::api
