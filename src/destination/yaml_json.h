// YAML (and so JSON, its subset) to nlohmann::json, remembering where each value came from.
//
// The mesh file is YAML for people; its checks are the discovery documents' own parsers
// (parse_endpoint, parse_profile), which work on JSON and report a JSON Pointer. The source
// map turns such a pointer back into the line of the file, so an error names the line to fix.
// It keeps yaml-cpp's tree and follows the pointer through it only when asked (an error is
// rare; a line per value of a 10,000-endpoint file would cost megabytes and milliseconds).
//
// Scalars follow the YAML 1.2 core schema, but only when they are plain (unquoted, untagged):
// `timeout_ms: 500` is the number 500, `timeout_ms: "500"` stays a string and is refused by
// the field's check, as it would be in JSON. YAML 1.1's yes/no/on/off are strings, so
// `retryable: yes` is an error rather than a silent guess.
#pragma once

#include <nlohmann/json.hpp>

#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace YAML {
class Node;
}

namespace lmesh::destination {

// JSON Pointer (RFC 6901, as discovery::fields::child builds them) -> 1-based line.
class SourceMap {
 public:
  explicit SourceMap(std::shared_ptr<const YAML::Node> root = nullptr) : root_(std::move(root)) {}
  // The line of `pointer`: of the key for an object member (where a reader looks for
  // "timeout_ms"), of the item for an array element. For a pointer that goes further than the
  // document (a missing required field), the line of the deepest part that exists; 1 when
  // nothing is known.
  int line_of(std::string_view pointer) const;

 private:
  std::shared_ptr<const YAML::Node> root_;
};

struct YamlDocument {
  nlohmann::json value;
  SourceMap lines;
};

// A document that is not YAML, or YAML that has no JSON equivalent (a non-scalar key, a key
// given twice, nesting or alias expansion beyond the limits).
struct YamlError {
  int line = 1;
  std::string pointer;  // where in the document, when known
  std::string message;
};

// Limits against hostile or broken files: nesting depth, and nodes visited (an alias is
// expanded where it is used, so "billion laughs" would otherwise grow without bound).
inline constexpr int kMaxYamlDepth = 64;
inline constexpr size_t kMaxYamlNodes = 1'000'000;

// The first document of `text`. Never throws.
std::expected<YamlDocument, YamlError> yaml_to_json(std::string_view text);

// A mesh file's error as people read it (kInvalidArgument):
// "mesh.yaml:14: services/web:8080/endpoints/0/weight: must be between 1 and 1000000".
Error located(std::string_view file, int line, std::string_view pointer, std::string_view message);

}  // namespace lmesh::destination
