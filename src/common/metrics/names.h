// The name rules of the Prometheus data model, checked when a family is declared.
#pragma once

#include <string_view>

namespace lmesh::metrics {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved for Prometheus itself).
bool is_valid_label_name(std::string_view name);

}  // namespace lmesh::metrics
