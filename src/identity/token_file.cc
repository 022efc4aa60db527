#include "identity/token_file.h"

#include <fmt/format.h>

#include <unordered_set>

#include "identity/rfc3339.h"
#include "identity/token_validator.h"

namespace lmesh::identity {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

}  // namespace

bool secret_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // volatile keeps the compiler from turning the loop back into an early-exit memcmp.
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

bool is_plausible_token(std::string_view token) {
  if (token.empty() || token.size() > 16 * 1024) return false;
  for (char c : token) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

const TokenEntry* TokenTable::find(std::string_view token) const {
  const TokenEntry* found = nullptr;
  for (const TokenEntry& e : entries_) {
    if (secret_equal(e.token, token)) found = &e;
  }
  return found;
}

Result<TokenTable> parse_token_file(std::string_view text, std::string_view file_name) {
  std::vector<TokenEntry> entries;
  std::unordered_set<std::string_view> seen;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto bad = [&](std::string_view what) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("{}:{}: {}", file_name, line_no, what));
    };
    std::vector<std::string_view> fields = split_fields(line);
    if (fields.empty() || fields[0].starts_with('#')) continue;
    if (fields.size() < 2 || fields.size() > 3) {
      return bad("expected 'TOKEN NAMESPACE/SERVICEACCOUNT [expires=RFC3339]'");
    }
    TokenEntry entry;
    if (!is_plausible_token(fields[0])) return bad("the token has characters outside '!'..'~'");
    entry.token = std::string(fields[0]);
    auto who = tls::ServiceAccountIdentity::from_slash_form(fields[1]);
    if (!who) {
      return bad(
          fmt::format("'{}' is not NAMESPACE/SERVICEACCOUNT (lowercase DNS labels)", fields[1]));
    }
    entry.identity = *who;
    if (fields.size() == 3) {
      constexpr std::string_view kExpires = "expires=";
      if (!fields[2].starts_with(kExpires)) {
        return bad(fmt::format("unknown attribute '{}' (only expires=RFC3339)", fields[2]));
      }
      auto at = parse_rfc3339(fields[2].substr(kExpires.size()));
      if (!at) {
        return bad(fmt::format("'{}' is not an RFC 3339 time (e.g. 2030-01-02T03:04:05Z)",
                               fields[2].substr(kExpires.size())));
      }
      entry.expires = *at;
    }
    // Views into `text`'s original storage stay valid for the whole parse.
    if (!seen.insert(fields[0]).second) return bad("the token appears on an earlier line too");
    entries.push_back(std::move(entry));
  }
  return TokenTable(std::move(entries));
}

}  // namespace lmesh::identity
