#include "destination/kubernetes/api_messages.h"

#include "common/discovery/json_fields.h"

namespace lmesh::destination::kubernetes {
namespace {

namespace fields = discovery::fields;
using fields::bad;
using nlohmann::json;

constexpr size_t kQuotedBytes = 120;  // of a body that is not a Status, in a message

std::string string_or_empty(const json& object, std::string_view key) {
  const json* v = fields::find(object, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

ApiStatus status_of(const json& object) {
  ApiStatus s;
  const json* code = fields::find(object, "code");
  if (code != nullptr && code->is_number_integer()) s.code = code->get<int>();
  s.reason = string_or_empty(object, "reason");
  s.message = string_or_empty(object, "message");
  return s;
}

// metadata.resourceVersion, "" when absent; an error when it is there with another type.
Parsed<std::string> resource_version_of(const json& object, const std::string& at) {
  const json* meta = fields::find(object, "metadata");
  if (meta == nullptr || meta->is_null()) return std::string();
  if (!meta->is_object()) return bad(at + "/metadata", "must be an object");
  const json* rv = fields::find(*meta, "resourceVersion");
  if (rv == nullptr || rv->is_null()) return std::string();
  if (!rv->is_string()) return bad(at + "/metadata/resourceVersion", "must be a string");
  return rv->get<std::string>();
}

}  // namespace

std::string_view to_string(EventType type) {
  switch (type) {
    case EventType::kAdded: return "ADDED";
    case EventType::kModified: return "MODIFIED";
    case EventType::kDeleted: return "DELETED";
    case EventType::kBookmark: return "BOOKMARK";
    case EventType::kError: return "ERROR";
  }
  return "?";
}

std::string ApiStatus::describe() const {
  std::string out = std::to_string(code);
  if (!reason.empty()) out += " " + reason;
  if (!message.empty()) out += ": " + message;
  return out;
}

Parsed<WatchEvent> parse_watch_event(std::string_view line) {
  json value = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return bad("", "not JSON");
  if (!value.is_object()) return bad("", "must be an object");
  const json* type = fields::find(value, "type");
  if (type == nullptr) return bad("/type", "is required");
  if (!type->is_string()) return bad("/type", "must be a string");
  const json* object = fields::find(value, "object");
  if (object == nullptr) return bad("/object", "is required");
  if (!object->is_object()) return bad("/object", "must be an object");

  WatchEvent event;
  std::string t = type->get<std::string>();
  if (t == "ADDED") {
    event.type = EventType::kAdded;
  } else if (t == "MODIFIED") {
    event.type = EventType::kModified;
  } else if (t == "DELETED") {
    event.type = EventType::kDeleted;
  } else if (t == "BOOKMARK") {
    event.type = EventType::kBookmark;
  } else if (t == "ERROR") {
    event.type = EventType::kError;
    event.status = status_of(*object);
    return event;
  } else {
    return bad("/type", "\"" + t + "\" is not ADDED, MODIFIED, DELETED, BOOKMARK or ERROR");
  }
  auto rv = resource_version_of(*object, "/object");
  if (!rv) return std::unexpected(rv.error());
  // A bookmark is nothing but a resourceVersion (its object has no name, no spec).
  if (event.type == EventType::kBookmark && rv->empty()) {
    return bad("/object/metadata/resourceVersion", "is required in a BOOKMARK");
  }
  event.resource_version = std::move(*rv);
  event.object = std::move(value["object"]);
  return event;
}

Parsed<ListPage> parse_list(std::string_view body) {
  json value = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return bad("", "not JSON");
  if (!value.is_object()) return bad("", "must be an object");
  ListPage page;
  auto rv = resource_version_of(value, "");
  if (!rv) return std::unexpected(rv.error());
  if (rv->empty()) return bad("/metadata/resourceVersion", "is required");
  page.resource_version = std::move(*rv);
  if (const json* meta = fields::find(value, "metadata"); meta != nullptr) {
    const json* cont = fields::find(*meta, "continue");
    if (cont != nullptr && !cont->is_null() && !cont->is_string()) {
      return bad("/metadata/continue", "must be a string");
    }
    if (cont != nullptr && cont->is_string()) page.continue_token = cont->get<std::string>();
  }
  json* items = nullptr;
  if (auto it = value.find("items"); it != value.end()) items = &*it;
  if (items == nullptr || items->is_null()) return page;  // "items": null is an empty list
  if (!items->is_array()) return bad("/items", "must be an array");
  page.items.reserve(items->size());
  for (json& item : *items) page.items.push_back(std::move(item));
  return page;
}

ApiStatus parse_status(int http_status, std::string_view body) {
  json value = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_object() && string_or_empty(value, "kind") == "Status") {
    ApiStatus s = status_of(value);
    if (s.code == 0) s.code = http_status;
    return s;
  }
  ApiStatus s;
  s.code = http_status;
  s.message = std::string(body.substr(0, kQuotedBytes));
  while (!s.message.empty() && (s.message.back() == '\n' || s.message.back() == '\r')) {
    s.message.pop_back();
  }
  return s;
}

}  // namespace lmesh::destination::kubernetes
