// Linkerd's proxy-init rules as iptables-restore input (src/cli/host/iptables_rules.h).
#include "cli/host/iptables_rules.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace lmesh::host {
namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

TEST_CASE("the default rules are proxy-init's, in its order") {
  const std::vector<std::string> expected = {
      "*nat",
      ":PROXY_INIT_REDIRECT - [0:0]",
      ":PROXY_INIT_OUTPUT - [0:0]",
      "-A PROXY_INIT_REDIRECT -p tcp -m multiport --dports 4190,4191 -m comment --comment "
      "\"lmesh-init/ignore-port-4190,4191\" -j RETURN",
      "-A PROXY_INIT_REDIRECT -p tcp -m comment --comment "
      "\"lmesh-init/redirect-all-incoming-to-proxy-port\" -j REDIRECT --to-ports 4143",
      "-A PREROUTING -m comment --comment \"lmesh-init/install-proxy-init-prerouting\" -j "
      "PROXY_INIT_REDIRECT",
      "-A PROXY_INIT_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --uid-owner 2102 -m comment "
      "--comment \"lmesh-init/redirect-non-loopback-local-traffic\" -j PROXY_INIT_REDIRECT",
      "-A PROXY_INIT_OUTPUT -m owner --uid-owner 2102 -m comment --comment "
      "\"lmesh-init/ignore-proxy-user-id\" -j RETURN",
      "-A PROXY_INIT_OUTPUT -o lo -m comment --comment \"lmesh-init/ignore-loopback\" -j RETURN",
      "-A PROXY_INIT_OUTPUT -p tcp -m comment --comment "
      "\"lmesh-init/redirect-all-outgoing-to-proxy-port\" -j REDIRECT --to-ports 4140",
      "-A OUTPUT -m comment --comment \"lmesh-init/install-proxy-init-output\" -j "
      "PROXY_INIT_OUTPUT",
      "COMMIT",
  };
  CHECK(lines(interception_rules({})) == expected);
}

TEST_CASE("skipped outbound ports return before the outbound redirect") {
  InterceptionConfig config;
  config.outbound_ports_to_ignore = {5432, 6379};
  std::vector<std::string> got = lines(interception_rules(config));
  auto skip = std::find(got.begin(), got.end(),
                        "-A PROXY_INIT_OUTPUT -p tcp -m multiport --dports 5432,6379 -m comment "
                        "--comment \"lmesh-init/ignore-port-5432,6379\" -j RETURN");
  auto redirect = std::find_if(got.begin(), got.end(), [](const std::string& l) {
    return l.find("--to-ports 4140") != std::string::npos;
  });
  REQUIRE(skip != got.end());
  REQUIRE(redirect != got.end());
  CHECK(skip < redirect);
}

TEST_CASE("ports, uid and gid are configurable") {
  InterceptionConfig config;
  config.proxy_uid = 1234;
  config.proxy_gid = 4321;
  config.inbound_port = 5143;
  config.outbound_port = 5140;
  config.inbound_ports_to_ignore = {4190, 4191, 22};
  std::string text = interception_rules(config);
  CHECK(text.find("--uid-owner 1234 ") != std::string::npos);
  CHECK(text.find("-A PROXY_INIT_OUTPUT -m owner --gid-owner 4321 -m comment --comment "
                  "\"lmesh-init/ignore-proxy-group-id\" -j RETURN\n") != std::string::npos);
  CHECK(text.find("--dports 4190,4191,22 ") != std::string::npos);
  CHECK(text.find("--to-ports 5143\n") != std::string::npos);
  CHECK(text.find("--to-ports 5140\n") != std::string::npos);
  CHECK(text.find("2102") == std::string::npos);
  CHECK(text.find("4143") == std::string::npos);
}

TEST_CASE("no ignored inbound ports: no multiport rule") {
  InterceptionConfig config;
  config.inbound_ports_to_ignore.clear();
  CHECK(interception_rules(config).find("multiport") == std::string::npos);
}

TEST_CASE("multiport lists hold at most 15 ports and no duplicates") {
  CHECK(multiport_lists({}).empty());
  CHECK(multiport_lists({4190, 4191, 4190}) == std::vector<std::string>{"4190,4191"});
  std::vector<uint16_t> many;
  for (uint16_t p = 1; p <= 16; ++p) many.push_back(p);
  CHECK(multiport_lists(many) ==
        std::vector<std::string>{"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15", "16"});
}

}  // namespace
}  // namespace lmesh::host
