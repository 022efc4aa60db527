#include "common/http/headers.h"

#include <cassert>

namespace lmesh::http {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
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

void HeaderMap::add(std::string_view name, std::string_view value) {
  begin_field();
  append_name(name);
  append_value(value);
}

void HeaderMap::begin_field() {
  auto at = static_cast<uint32_t>(arena_.size());
  entries_.push_back(Entry{at, 0, at, 0});
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

HeaderMap::Field HeaderMap::at(size_t i) const {
  const Entry& e = entries_[i];
  std::string_view all(arena_);
  // Field values exclude leading and trailing whitespace (RFC 9110 §5.5); llhttp already
  // strips the leading part, the trailing part it leaves to us.
  return Field{all.substr(e.name_offset, e.name_length),
               trim(all.substr(e.value_offset, e.value_length))};
}

std::optional<std::string_view> HeaderMap::get(std::string_view name) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    Field f = at(i);
    if (iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

bool HeaderMap::has_token(std::string_view name, std::string_view token) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    Field f = at(i);
    if (iequals(f.name, name) && list_contains_token(f.value, token)) return true;
  }
  return false;
}

void HeaderMap::clear() {
  arena_.clear();
  entries_.clear();
}

}  // namespace lmesh::http
