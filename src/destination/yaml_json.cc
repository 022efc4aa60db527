#include "destination/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/discovery/json_fields.h"

namespace lmesh::destination {
namespace {

using discovery::fields::child;

// yaml-cpp reports a plain scalar's tag as "?" (resolve it by its text) and a quoted one's as
// "!" (a string, whatever it looks like).
constexpr std::string_view kPlainTag = "?";

bool is_bool(std::string_view s, bool& out) {
  if (s == "true" || s == "True" || s == "TRUE") return out = true, true;
  if (s == "false" || s == "False" || s == "FALSE") return out = false, true;
  return false;
}

// YAML 1.2 core schema, §10.3.2: [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+.
bool to_integer(std::string_view s, nlohmann::json& out) {
  int base = 10;
  bool negative = false;
  std::string_view digits = s;
  if (s.starts_with("0x")) {
    base = 16;
    digits = s.substr(2);
  } else if (s.starts_with("0o")) {
    base = 8;
    digits = s.substr(2);
  } else if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    digits = s.substr(1);
  }
  if (digits.empty()) return false;
  for (char c : digits) {
    bool ok = base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                         : (c >= '0' && c < static_cast<char>('0' + std::min(base, 10)));
    if (!ok) return false;
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec == std::errc::result_out_of_range) {
    // Beyond 64 bits: still a number (2^64, signed), so the field's check refuses it rather
    // than reading it as text.
    out = negative ? -std::ldexp(1.0, 64) : std::ldexp(1.0, 64);
    return true;
  }
  if (ec != std::errc() || end != digits.data() + digits.size()) return false;
  constexpr auto kMaxInt64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (!negative) {
    if (magnitude <= kMaxInt64) {
      out = static_cast<int64_t>(magnitude);
    } else {
      out = magnitude;
    }
    return true;
  }
  if (magnitude <= kMaxInt64 + 1) {
    out = static_cast<int64_t>(0 - magnitude);
    return true;
  }
  out = -static_cast<double>(magnitude);
  return true;
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?  (YAML 1.2 core schema, §10.3.2),
// by hand: std::regex would cost microseconds on every plain scalar of a large file.
bool looks_like_float(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t whole = digits();
  size_t fraction = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    fraction = digits();
  }
  if (whole == 0 && fraction == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

bool to_float(std::string_view s, nlohmann::json& out) {
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf" || s == "+.INF") {
    out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") {
    out = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (!looks_like_float(s)) return false;
  out = std::strtod(std::string(s).c_str(), nullptr);
  return true;
}

nlohmann::json resolve_scalar(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() != kPlainTag) return text;
  nlohmann::json out;
  bool b = false;
  if (is_bool(text, b)) return b;
  if (to_integer(text, out)) return out;
  if (to_float(text, out)) return out;
  return text;
}

int line_of_node(const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  return m.line < 0 ? 1 : m.line + 1;
}

class Converter {
 public:
  std::expected<nlohmann::json, YamlError> convert(const YAML::Node& node,
                                                   const std::string& pointer, int depth) {
    if (++visited_ > kMaxYamlNodes) {
      return fail(
          node, pointer,
          "has more than " + std::to_string(kMaxYamlNodes) + " values (after expanding aliases)");
    }
    if (depth > kMaxYamlDepth) {
      return fail(node, pointer, "nests deeper than " + std::to_string(kMaxYamlDepth) + " levels");
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: return nullptr;
      case YAML::NodeType::Scalar: return resolve_scalar(node);
      case YAML::NodeType::Sequence: {
        nlohmann::json out = nlohmann::json::array();
        for (size_t i = 0; i < node.size(); ++i) {
          const YAML::Node item = node[i];
          auto v = convert(item, child(pointer, i), depth + 1);
          if (!v) return v;
          out.push_back(std::move(*v));
        }
        return out;
      }
      case YAML::NodeType::Map: {
        nlohmann::json out = nlohmann::json::object();
        for (auto it = node.begin(); it != node.end(); ++it) {
          const YAML::Node key = it->first;
          if (!key.IsScalar()) return fail(key, pointer, "has a key that is not a string");
          const std::string& name = key.Scalar();
          std::string at = child(pointer, name);
          if (out.contains(name)) return fail(key, at, "is given twice");
          auto v = convert(it->second, at, depth + 1);
          if (!v) return v;
          out[name] = std::move(*v);
        }
        return out;
      }
    }
    return nullptr;
  }

 private:
  static std::unexpected<YamlError> fail(const YAML::Node& node, const std::string& pointer,
                                         std::string message) {
    return std::unexpected(YamlError{line_of_node(node), pointer, std::move(message)});
  }

  size_t visited_ = 0;
};

}  // namespace

int SourceMap::line_of(std::string_view pointer) const {
  if (root_ == nullptr) return 1;
  YAML::Node node = *root_;
  int line = line_of_node(node);
  // RFC 6901 §4: split at '/', then "~1" -> '/' and "~0" -> '~'.
  while (!pointer.empty() && pointer.front() == '/') {
    pointer.remove_prefix(1);
    size_t slash = pointer.find('/');
    std::string token(pointer.substr(0, slash));
    pointer = slash == std::string_view::npos ? std::string_view() : pointer.substr(slash);
    for (size_t at = 0; (at = token.find('~', at)) != std::string::npos; ++at) {
      if (at + 1 < token.size() && (token[at + 1] == '0' || token[at + 1] == '1')) {
        token.replace(at, 2, token[at + 1] == '1' ? "/" : "~");
      }
    }
    // Read through a const reference and rebind with reset(): a yaml-cpp Node's operator=
    // would write into the tree instead of moving this handle.
    const YAML::Node& here = node;
    bool found = false;
    if (here.IsMap()) {
      for (auto it = here.begin(); it != here.end(); ++it) {
        if (it->first.IsScalar() && it->first.Scalar() == token) {
          line = line_of_node(it->first);
          node.reset(it->second);
          found = true;
          break;
        }
      }
    } else if (here.IsSequence()) {
      size_t index = 0;
      auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
      if (ec == std::errc() && end == token.data() + token.size() && index < here.size()) {
        node.reset(here[index]);
        line = line_of_node(node);
        found = true;
      }
    }
    if (!found) break;
  }
  return line;
}

std::expected<YamlDocument, YamlError> yaml_to_json(std::string_view text) {
  // yaml-cpp reports every problem by throwing; this is the one place they are caught.
  try {
    auto root = std::make_shared<const YAML::Node>(YAML::Load(std::string(text)));
    Converter converter;
    auto value = converter.convert(*root, "", 0);
    if (!value) return std::unexpected(std::move(value.error()));
    return YamlDocument{std::move(*value), SourceMap(std::move(root))};
  } catch (const YAML::Exception& e) {
    int line = e.mark.line < 0 ? 1 : e.mark.line + 1;
    return std::unexpected(YamlError{line, "", "not valid YAML: " + e.msg});
  } catch (const std::exception& e) {
    return std::unexpected(YamlError{1, "", std::string("cannot be read as YAML: ") + e.what()});
  }
}

Error located(std::string_view file, int line, std::string_view pointer, std::string_view message) {
  std::string text = std::string(file) + ":" + std::to_string(line) + ": ";
  if (!pointer.empty()) text += std::string(pointer.substr(1)) + ": ";
  return Error(ErrorCode::kInvalidArgument, text + std::string(message));
}

}  // namespace lmesh::destination
