// The Kubernetes API's envelopes around objects: a LIST response (items + the list's
// resourceVersion + a continue token), one line of a WATCH stream ({"type":...,"object":...}),
// and the Status an error carries. The objects inside are objects.h's business.
//
// Bad input is refused with a JSON Pointer and a reason, never thrown: a malformed watch line is
// logged, counted and skipped, and the watch goes on.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "common/discovery/field_error.h"

namespace lmesh::destination::kubernetes {

using discovery::Parsed;

enum class EventType { kAdded, kModified, kDeleted, kBookmark, kError };
std::string_view to_string(EventType type);

// A meta/v1 Status: what an API server says instead of an object (an error response's body, a
// watch's ERROR event).
struct ApiStatus {
  int code = 0;  // an HTTP status: 410 "Gone" means the resourceVersion is too old
  std::string reason;
  std::string message;

  // "410 Expired: too old resource version: 1 (2)"
  std::string describe() const;
};

struct WatchEvent {
  EventType type = EventType::kAdded;
  // ADDED, MODIFIED, DELETED: the object (DELETED: its last state).
  nlohmann::json object;
  // Of the object or the bookmark: where a re-watch resumes. Empty for ERROR.
  std::string resource_version;
  ApiStatus status;  // ERROR only
};

// One line of a watch stream.
Parsed<WatchEvent> parse_watch_event(std::string_view line);

// The watch cannot resume from our resourceVersion any more: list again.
inline bool is_expired(const WatchEvent& event) {
  return event.type == EventType::kError && event.status.code == 410;
}

struct ListPage {
  std::vector<nlohmann::json> items;
  std::string resource_version;  // a watch starts from here
  std::string continue_token;    // non-empty: more pages follow
};

Parsed<ListPage> parse_list(std::string_view body);

// The Status in an error response's body when there is one; otherwise `http_status` and the
// start of the body as the message.
ApiStatus parse_status(int http_status, std::string_view body);

}  // namespace lmesh::destination::kubernetes
