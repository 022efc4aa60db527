// When the root FORWARD chain needs an ACCEPT rule for the bridge (src/cli/host/forward_rule.h).
#include "cli/host/forward_rule.h"

#include <catch2/catch.hpp>

namespace lmesh::host {
namespace {

TEST_CASE("bridged traffic is at risk only with br_netfilter calling iptables and no ACCEPT") {
  const char* docker = "-P FORWARD DROP\n-N DOCKER\n-A FORWARD -j DOCKER-USER\n";
  CHECK(forward_chain_may_drop("1\n", docker));
  CHECK(!forward_chain_may_drop("0\n", docker));
  CHECK(!forward_chain_may_drop("", docker));  // br_netfilter not loaded
  CHECK(!forward_chain_may_drop("1\n", "-P FORWARD ACCEPT\n"));
  CHECK(forward_chain_may_drop("1\n", "garbage"));  // unknown policy: assume the worst
}

TEST_CASE("the FORWARD rule matches the bridge both ways and says it is lmesh's") {
  CHECK(forward_rule_spec("lmesh0") ==
        std::vector<std::string>{"-i", "lmesh0", "-o", "lmesh0", "-m", "comment", "--comment",
                                 "lmesh-init/accept-bridge-lmesh0", "-j", "ACCEPT"});
}

}  // namespace
}  // namespace lmesh::host
