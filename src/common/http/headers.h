// HTTP header fields in arrival order, stored in one arena string so that parsing a request
// head costs no allocation once the map has grown to its working size (clear() keeps the
// capacity; a keep-alive connection reuses one map for every request).
//
// Each field's name is classified once, when it is complete, against the handful of names a
// proxy acts on (Host, Connection, the hop-by-hop set, ...). Looking those up, or skipping
// hop-by-hop fields while re-encoding a head, then compares one byte per field instead of
// case-insensitive strings: this runs for every field of every request.
#pragma once

#include <cstdint>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lmesh::http {

// ASCII case-insensitive comparison, as field names require (RFC 9110 §5.1).
bool iequals(std::string_view a, std::string_view b);
// True if the comma-separated list `value` holds `token` (case-insensitively), e.g.
// Connection: "keep-alive, Upgrade" holds "upgrade".
bool list_contains_token(std::string_view value, std::string_view token);

// The field names the proxy acts on. The ones up to kLastHopByHop describe a connection, not
// the message (RFC 9110 §7.6.1), and are never forwarded as they are.
enum class FieldName : uint8_t {
  kConnection,
  kKeepAlive,
  kProxyConnection,
  kTe,
  kTransferEncoding,
  kUpgrade,
  kHttp2Settings,
  kLastHopByHop = kHttp2Settings,
  kHost,
  kContentLength,
  kOther,
};

FieldName classify_field_name(std::string_view name);
inline bool is_hop_by_hop(FieldName f) {
  return f <= FieldName::kLastHopByHop;
}

class HeaderMap {
 public:
  struct Field {
    std::string_view name;
    std::string_view value;
    FieldName kind;
  };

  HeaderMap() = default;
  // Storage from `memory`, e.g. a worker's BlockPool for the maps of HTTP/2 streams, which come
  // and go at request rate. Copies of the map use the default resource (malloc).
  explicit HeaderMap(std::pmr::memory_resource* memory) : arena_(memory), entries_(memory) {}

  void add(std::string_view name, std::string_view value);

  // Incremental building for parsers that deliver a field in pieces: begin_field(), then
  // append_name() and append_value() any number of times each (names first), then end_field().
  void begin_field();
  void append_name(std::string_view piece);
  void append_value(std::string_view piece);
  void end_field();

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  Field at(size_t i) const;
  // The first field with this name, if any.
  std::optional<std::string_view> get(FieldName name) const;
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(FieldName name) const { return get(name).has_value(); }
  bool has(std::string_view name) const { return get(name).has_value(); }
  // True if any field named `name` lists `token` (fields may repeat, RFC 9110 §5.3).
  bool has_token(FieldName name, std::string_view token) const;
  bool has_token(std::string_view name, std::string_view token) const;
  // A Connection field lists options beyond keep-alive/close/upgrade, so other fields may be
  // connection options (hop-by-hop) too.
  bool has_connection_options() const { return has_connection_; }
  // Bytes of names and values, the measure for header size limits.
  size_t byte_size() const { return arena_.size(); }

  // Drops every field named `name` (e.g. a marker header one hop adds for the next).
  void remove(std::string_view name);
  void clear();

  template <class Fn>
  void for_each(Fn&& fn) const {
    for (size_t i = 0; i < entries_.size(); ++i) {
      Field f = at(i);
      fn(f.name, f.value);
    }
  }

 private:
  struct Entry {
    uint32_t name_offset, name_length, value_offset, value_length;
    FieldName kind;
  };
  // What a map reserves for its first field.
  static constexpr size_t kInitialFields = 4;
  static constexpr size_t kInitialArenaBytes = 128;
  void reserve_first() {
    if (entries_.capacity() == 0) [[unlikely]]
      reserve_first_slow();
  }
  void reserve_first_slow();
  void grow_for(std::string_view& name, std::string_view& value);
  std::pmr::string arena_;
  std::pmr::vector<Entry> entries_;
  bool has_connection_ = false;
};

}  // namespace lmesh::http
