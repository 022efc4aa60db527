// The bootstrap token file of lmesh-identity outside Kubernetes (`--token-file`): which token
// proves which ServiceAccount identity, until when.
//
//   # comment
//   TOKEN NAMESPACE/SERVICEACCOUNT [expires=RFC3339]
//
// Blank lines and lines whose first non-blank character is '#' are ignored.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/tls/identity_name.h"

namespace lmesh::identity {

struct TokenEntry {
  std::string token;
  tls::ServiceAccountIdentity identity;
  std::optional<std::chrono::system_clock::time_point> expires;  // none: never
};

class TokenTable {
 public:
  TokenTable() = default;
  explicit TokenTable(std::vector<TokenEntry> entries) : entries_(std::move(entries)) {}

  // The entry whose token equals `token`, compared against every entry without stopping
  // early, so that the time taken does not tell how much of a guess was right.
  const TokenEntry* find(std::string_view token) const;
  size_t size() const { return entries_.size(); }

 private:
  std::vector<TokenEntry> entries_;
};

// Parses the file's text. Errors say "FILE:LINE: what is wrong" (`file_name` is only used in
// messages). Duplicate tokens are errors: one token, one identity.
Result<TokenTable> parse_token_file(std::string_view text, std::string_view file_name);

// Timing-independent equality of two secrets: lengths first, then every byte without an
// early exit (CRYPTO_memcmp is private to src/common/tls).
bool secret_equal(std::string_view a, std::string_view b);

}  // namespace lmesh::identity
