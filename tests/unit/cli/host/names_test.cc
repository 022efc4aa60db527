// Names and exec prefixes of src/cli/host/host_network.h (no root needed).
#include <catch2/catch.hpp>

#include "cli/host/existing.h"
#include "cli/host/host_network.h"

namespace lmesh::host {
namespace {

TEST_CASE("netns_exec_prefix enters the namespace and optionally drops to a uid") {
  CHECK(netns_exec_prefix("lmesh-1") == std::vector<std::string>{"ip", "netns", "exec", "lmesh-1"});
  CHECK(netns_exec_prefix("lmesh-1", 2102) ==
        std::vector<std::string>{"ip", "netns", "exec", "lmesh-1", "setpriv", "--reuid=2102",
                                 "--regid=2102", "--clear-groups", "--"});
}

TEST_CASE("link and namespace names are checked before they reach ip") {
  CHECK(valid_link_name("lmesh0"));
  CHECK(valid_link_name("lmh123456789012"));    // 15 bytes: the kernel's limit
  CHECK(!valid_link_name("lmh1234567890123"));  // 16
  CHECK(!valid_link_name(""));
  CHECK(!valid_link_name("a/b"));
  CHECK(!valid_link_name("a b"));
  CHECK(!valid_link_name("a:1"));
  CHECK(valid_netns_name("lmesh-12"));
  CHECK(!valid_netns_name(".."));
  CHECK(!valid_netns_name("a/b"));
  CHECK(!valid_netns_name(""));
}

TEST_CASE("socket_in_netns names a missing namespace") {
  auto fd = socket_in_netns("lmesh-no-such-namespace-for-tests");
  REQUIRE(!fd);
  CHECK(fd.error().code() == ErrorCode::kNotFound);
  CHECK(fd.error().message().find("lmesh-no-such-namespace-for-tests") != std::string::npos);
}

TEST_CASE("links are looked up in this thread's namespace") {
  CHECK(link_exists("lo"));
  CHECK(!is_bridge("lo"));
  CHECK(!link_exists("lmh-no-such"));
  CHECK(!is_bridge("lmh-no-such"));
}

}  // namespace
}  // namespace lmesh::host
