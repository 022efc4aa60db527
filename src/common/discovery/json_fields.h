// Typed reads of JSON object fields that say which field was wrong (discovery documents only;
// private to this directory). Unknown fields are refused rather than ignored, so that a typo
// in a mesh file ("timeout_sm") is an error at its line instead of a silently missing policy.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "common/discovery/field_error.h"

namespace lmesh::discovery::fields {

inline std::string child(const std::string& pointer, std::string_view key) {
  std::string out = pointer + "/";
  for (char c : key) {  // RFC 6901 §3: '~' and '/' are escaped
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}
inline std::string child(const std::string& pointer, size_t index) {
  return pointer + "/" + std::to_string(index);
}

inline std::unexpected<FieldError> bad(std::string pointer, std::string message) {
  return std::unexpected<FieldError>(FieldError{std::move(pointer), std::move(message)});
}

// Hands a failed read's error on, whatever the type the caller returns.
template <class T>
std::unexpected<FieldError> pass(const Parsed<T>& failed) {
  return std::unexpected(failed.error());
}

// The value must be an object whose keys are all among `known`.
inline Parsed<void> object_with(const nlohmann::json& value, const std::string& pointer,
                                std::initializer_list<std::string_view> known) {
  if (!value.is_object()) return bad(pointer, "must be an object");
  for (const auto& [key, _] : value.items()) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || k == key;
    if (!ok) return bad(child(pointer, key), "unknown field");
  }
  return {};
}

// nullptr when absent.
inline const nlohmann::json* find(const nlohmann::json& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

inline Parsed<std::string> string_at(const nlohmann::json& object, const std::string& pointer,
                                     std::string_view key, bool required) {
  const nlohmann::json* v = find(object, key);
  if (v == nullptr) {
    if (required) return bad(child(pointer, key), "is required");
    return std::string();
  }
  if (!v->is_string()) return bad(child(pointer, key), "must be a string");
  return v->get<std::string>();
}

// An integer in [min, max]; `fallback` when absent.
inline Parsed<int64_t> integer_at(const nlohmann::json& object, const std::string& pointer,
                                  std::string_view key, int64_t min, int64_t max,
                                  int64_t fallback) {
  const nlohmann::json* v = find(object, key);
  if (v == nullptr) return fallback;
  if (!v->is_number_integer() && !v->is_number_unsigned()) {
    return bad(child(pointer, key), "must be a whole number");
  }
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(max)) {
    return bad(child(pointer, key),
               "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  int64_t n = v->get<int64_t>();
  if (n < min || n > max) {
    return bad(child(pointer, key),
               "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return n;
}

inline Parsed<double> number_at(const nlohmann::json& object, const std::string& pointer,
                                std::string_view key, double min, double max, double fallback) {
  const nlohmann::json* v = find(object, key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) return bad(child(pointer, key), "must be a number");
  double n = v->get<double>();
  if (!(n >= min && n <= max)) {  // also refuses NaN
    return bad(child(pointer, key), "must be between " + nlohmann::json(min).dump() + " and " +
                                        nlohmann::json(max).dump());
  }
  return n;
}

inline Parsed<bool> bool_at(const nlohmann::json& object, const std::string& pointer,
                            std::string_view key, bool fallback) {
  const nlohmann::json* v = find(object, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) return bad(child(pointer, key), "must be true or false");
  return v->get<bool>();
}

}  // namespace lmesh::discovery::fields
