#include "common/config/flags.h"

#include <cctype>

namespace lmesh::config {

std::string env_name(std::string_view prefix, std::string_view flag) {
  std::string name(prefix);
  for (char ch : flag) {
    name += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  return name;
}

Error bad_setting(std::string_view source, std::string_view value, const Error& why) {
  return Error::wrap(why, "invalid " + std::string(source) + " '" + std::string(value) + "'");
}

Error unexpected_argument(std::string_view arg) {
  return Error(ErrorCode::kInvalidArgument, "unexpected argument '" + std::string(arg) + "'");
}

Error unknown_flag(std::string_view name) {
  return Error(ErrorCode::kInvalidArgument,
               "unknown flag '--" + std::string(name) + "' (see --help)");
}

Error missing_value(std::string_view name, std::string_view value_name) {
  return Error(ErrorCode::kInvalidArgument,
               "flag '--" + std::string(name) + "' needs a value " + std::string(value_name));
}

std::string usage_line(std::string_view flag, std::string_view value_name, std::string_view help) {
  std::string left = "  --" + std::string(flag);
  if (!value_name.empty()) left += " " + std::string(value_name);
  left.resize(std::max<size_t>(left.size() + 2, 36), ' ');
  return left + std::string(help) + "\n";
}

}  // namespace lmesh::config
