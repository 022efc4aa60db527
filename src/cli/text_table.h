// Columns of text aligned the way Linkerd's tables are (`linkerd viz stat`, `top`): three
// spaces between columns, each column as wide as its widest cell, text columns left-aligned and
// figures right-aligned.
#pragma once

#include <string>
#include <vector>

namespace lmesh::cli {

enum class Align { kLeft, kRight };

struct Column {
  std::string header;
  Align align = Align::kLeft;
};

// One line per row after the header line, each ending in "\n", without trailing spaces.
std::string render_table(const std::vector<Column>& columns,
                         const std::vector<std::vector<std::string>>& rows);

// Characters as a terminal counts them (UTF-8 code points: "µs" is two).
size_t display_width(std::string_view text);

}  // namespace lmesh::cli
