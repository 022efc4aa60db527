// Fuzz target: the HTTP/1 request parser (src/common/http/h1/parser.h) as the proxy's server side
// drives it: pipelined requests one at a time, h2c upgrades declined, the client closing at the
// end. The stream is parsed whole, byte by byte and in random pieces; all must agree.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "h1_split_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  lmesh::fuzz::Options options;
  options.kind = lmesh::http::h1::Parser::Kind::kRequest;
  lmesh::fuzz::parse_every_way(options, input);
  return 0;
}
