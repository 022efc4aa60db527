// Fuzz target: the HTTP/1 response parser (src/common/http/h1/parser.h) as an upstream
// connection drives it: interim responses, a first response that answers HEAD or not, upgrades,
// and bodies delimited by the upstream closing. The stream is parsed whole, byte by byte and in
// random pieces; all must agree.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "h1_split_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  lmesh::fuzz::Options options;
  options.kind = lmesh::http::h1::Parser::Kind::kResponse;
  for (bool head : {false, true}) {
    options.first_response_to_head = head;
    lmesh::fuzz::parse_every_way(options, input);
  }
  return 0;
}
