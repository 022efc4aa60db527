#include "common/http/headers.h"

#include <cassert>
#include <functional>
#include <optional>

namespace lmesh::http {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// iequals() against a lower-case literal of token characters: one comparison per byte
// instead of two conversions, which matters because every field name of every message is
// classified.
bool equals_lower(std::string_view name, std::string_view lower_literal) {
  if (name.size() != lower_literal.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    // OR-ing 0x20 lower-cases an ASCII letter and leaves '-' and digits alone; the control
    // characters it could confuse with them never appear in a field name.
    if ((name[i] | 0x20) != lower_literal[i]) return false;
  }
  return true;
}

// True if a Connection value lists an option other than the usual keep-alive, close and
// upgrade: only then can it make other fields hop-by-hop, and only then must every field be
// checked against it.
bool names_other_fields(std::string_view value) {
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view token = trim(value.substr(0, comma));
    if (!token.empty() && !equals_lower(token, "keep-alive") && !equals_lower(token, "close") &&
        !equals_lower(token, "upgrade")) {
      return true;
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool list_contains_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

FieldName classify_field_name(std::string_view name) {
  // The length picks at most two candidates, so most fields cost one switch.
  switch (name.size()) {
    case 2: return equals_lower(name, "te") ? FieldName::kTe : FieldName::kOther;
    case 4: return equals_lower(name, "host") ? FieldName::kHost : FieldName::kOther;
    case 7: return equals_lower(name, "upgrade") ? FieldName::kUpgrade : FieldName::kOther;
    case 10:
      if (equals_lower(name, "connection")) return FieldName::kConnection;
      return equals_lower(name, "keep-alive") ? FieldName::kKeepAlive : FieldName::kOther;
    case 14:
      if (equals_lower(name, "content-length")) return FieldName::kContentLength;
      return equals_lower(name, "http2-settings") ? FieldName::kHttp2Settings : FieldName::kOther;
    case 16:
      return equals_lower(name, "proxy-connection") ? FieldName::kProxyConnection
                                                    : FieldName::kOther;
    case 17:
      return equals_lower(name, "transfer-encoding") ? FieldName::kTransferEncoding
                                                     : FieldName::kOther;
    default: return FieldName::kOther;
  }
}

// The whole field at once, as HTTP/2 delivers it: one pass instead of the four steps a parser
// that sees pieces needs (every field of every HTTP/2 message comes through here).
void HeaderMap::add(std::string_view name, std::string_view value) {
  reserve_first();
  value = trim(value);
  if (arena_.size() + name.size() + value.size() > arena_.capacity()) [[unlikely]] {
    grow_for(name, value);
  }
  FieldName kind = classify_field_name(name);
  auto name_at = static_cast<uint32_t>(arena_.size());
  arena_.append(name).append(value);  // no reallocation now: the views stay good
  auto value_at = static_cast<uint32_t>(name_at + name.size());
  entries_.push_back(Entry{name_at, static_cast<uint32_t>(name.size()), value_at,
                           static_cast<uint32_t>(value.size()), kind});
  if (kind == FieldName::kConnection &&
      names_other_fields(std::string_view(arena_).substr(value_at))) {
    has_connection_ = true;
  }
}

// A field copied within one map points into the arena that growing it moves: the views are
// re-pointed into the new storage.
void HeaderMap::grow_for(std::string_view& name, std::string_view& value) {
  const char* old_base = arena_.data();
  std::less<const char*> before;
  auto offset_in_arena = [&](std::string_view s) -> std::optional<size_t> {
    if (s.empty() || before(s.data(), old_base) || !before(s.data(), old_base + arena_.size())) {
      return std::nullopt;
    }
    return static_cast<size_t>(s.data() - old_base);
  };
  std::optional<size_t> name_at = offset_in_arena(name);
  std::optional<size_t> value_at = offset_in_arena(value);
  arena_.reserve(arena_.size() + name.size() + value.size());  // grows geometrically
  if (name_at) name = std::string_view(arena_.data() + *name_at, name.size());
  if (value_at) value = std::string_view(arena_.data() + *value_at, value.size());
}

void HeaderMap::reserve_first_slow() {
  // A fresh map (each HTTP/2 stream has its own) would otherwise reach even a small head's
  // size through half a dozen reallocations. Modest sizes: thousands of streams hold a map.
  entries_.reserve(kInitialFields);
  arena_.reserve(kInitialArenaBytes);
}

void HeaderMap::begin_field() {
  reserve_first();
  auto at = static_cast<uint32_t>(arena_.size());
  entries_.push_back(Entry{at, 0, at, 0, FieldName::kOther});
}

void HeaderMap::append_name(std::string_view piece) {
  assert(!entries_.empty());
  Entry& e = entries_.back();
  assert(e.value_length == 0);
  arena_.append(piece);
  e.name_length += static_cast<uint32_t>(piece.size());
  e.value_offset = static_cast<uint32_t>(arena_.size());
}

void HeaderMap::append_value(std::string_view piece) {
  assert(!entries_.empty());
  arena_.append(piece);
  entries_.back().value_length += static_cast<uint32_t>(piece.size());
}

void HeaderMap::end_field() {
  assert(!entries_.empty());
  Entry& e = entries_.back();
  std::string_view all(arena_);
  // Field values exclude surrounding whitespace (RFC 9110 §5.5); llhttp strips the leading
  // part, the trailing part is ours.
  std::string_view value = trim(all.substr(e.value_offset, e.value_length));
  e.value_offset = static_cast<uint32_t>(value.data() - all.data());
  e.value_length = static_cast<uint32_t>(value.size());
  e.kind = classify_field_name(all.substr(e.name_offset, e.name_length));
  if (e.kind == FieldName::kConnection && names_other_fields(value)) has_connection_ = true;
}

HeaderMap::Field HeaderMap::at(size_t i) const {
  const Entry& e = entries_[i];
  std::string_view all(arena_);
  return Field{all.substr(e.name_offset, e.name_length), all.substr(e.value_offset, e.value_length),
               e.kind};
}

std::optional<std::string_view> HeaderMap::get(FieldName name) const {
  for (const Entry& e : entries_) {
    if (e.kind == name) return std::string_view(arena_).substr(e.value_offset, e.value_length);
  }
  return std::nullopt;
}

void HeaderMap::remove(std::string_view name) {
  std::erase_if(entries_, [&](const Entry& e) {
    return iequals(std::string_view(arena_).substr(e.name_offset, e.name_length), name);
  });
}

std::optional<std::string_view> HeaderMap::get(std::string_view name) const {
  FieldName kind = classify_field_name(name);
  if (kind != FieldName::kOther) return get(kind);
  for (size_t i = 0; i < entries_.size(); ++i) {
    Field f = at(i);
    if (iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

bool HeaderMap::has_token(FieldName name, std::string_view token) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].kind == name && list_contains_token(at(i).value, token)) return true;
  }
  return false;
}

bool HeaderMap::has_token(std::string_view name, std::string_view token) const {
  FieldName kind = classify_field_name(name);
  if (kind != FieldName::kOther) return has_token(kind, token);
  for (size_t i = 0; i < entries_.size(); ++i) {
    Field f = at(i);
    if (iequals(f.name, name) && list_contains_token(f.value, token)) return true;
  }
  return false;
}

void HeaderMap::clear() {
  arena_.clear();
  entries_.clear();
  has_connection_ = false;
}

}  // namespace lmesh::http
