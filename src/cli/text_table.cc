#include "cli/text_table.h"

#include <algorithm>

namespace lmesh::cli {

size_t display_width(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not a continuation byte
  }));
}

std::string render_table(const std::vector<Column>& columns,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const Column& c : columns) widths.push_back(display_width(c.header));
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  auto line = [&](auto cell_at) {
    std::string out;
    for (size_t i = 0; i < columns.size(); ++i) {
      std::string_view cell = cell_at(i);
      std::string pad(widths[i] - display_width(cell), ' ');
      if (i > 0) out += "   ";
      if (columns[i].align == Align::kRight) out += pad;
      out += cell;
      if (columns[i].align == Align::kLeft) out += pad;
    }
    out.erase(out.find_last_not_of(' ') + 1);
    return out + "\n";
  };
  std::string out = line([&](size_t i) -> std::string_view { return columns[i].header; });
  for (const auto& row : rows) {
    out += line([&](size_t i) -> std::string_view {  // Both arms views: a std::string arm would
                                                     // make the result a dangling temporary.
      return i < row.size() ? std::string_view(row[i]) : std::string_view();
    });
  }
  return out;
}

}  // namespace lmesh::cli
