#include "common/http/h2/stream.h"

#include <cassert>

namespace lmesh::http::h2 {

std::string_view to_string(Stream::State state) {
  switch (state) {
    case Stream::State::kIdle: return "idle";
    case Stream::State::kOpen: return "open";
    case Stream::State::kHalfClosedLocal: return "half-closed (local)";
    case Stream::State::kHalfClosedRemote: return "half-closed (remote)";
    case Stream::State::kClosed: return "closed";
  }
  return "?";
}

// The allowed moves of RFC 9113 §5.1 (figure 2), reserved states left out. nghttp2 enforces
// them on the wire; the asserts check that this bookkeeping agrees with it.
void Stream::transition(State to) {
  switch (to) {
    case State::kIdle: assert(false && "a stream never returns to idle"); break;
    case State::kOpen: assert(state_ == State::kIdle); break;
    case State::kHalfClosedLocal:
    case State::kHalfClosedRemote: assert(state_ == State::kIdle || state_ == State::kOpen); break;
    case State::kClosed: assert(state_ != State::kClosed); break;
  }
  state_ = to;
}

void Stream::headers_sent(bool end_stream) {
  if (state_ == State::kIdle) {
    transition(end_stream ? State::kHalfClosedLocal : State::kOpen);
  } else if (end_stream) {
    end_sent();
  }
}

void Stream::headers_received(bool end_stream) {
  if (state_ == State::kIdle) {
    remote_ended_ = end_stream;
    transition(end_stream ? State::kHalfClosedRemote : State::kOpen);
  } else if (end_stream) {
    end_received();
  }
}

void Stream::end_sent() {
  if (state_ == State::kHalfClosedRemote) {
    transition(State::kClosed);
  } else {
    transition(State::kHalfClosedLocal);
  }
}

void Stream::end_received() {
  remote_ended_ = true;
  if (state_ == State::kHalfClosedLocal) {
    transition(State::kClosed);
  } else {
    transition(State::kHalfClosedRemote);
  }
}

void Stream::closed() {
  if (state_ != State::kClosed) transition(State::kClosed);
}

}  // namespace lmesh::http::h2
