// The pods' /etc/hosts (src/cli/host/hosts_file.h).
#include "cli/host/hosts_file.h"

#include <catch2/catch.hpp>

namespace lmesh::host {
namespace {

TEST_CASE("hosts file: localhost lines, then one line per entry") {
  auto text = hosts_file_text({{"198.19.0.1", {"web.default.svc.cluster.local", "web"}},
                               {"198.19.0.2", {"ratings.default"}}});
  REQUIRE(text);
  CHECK(*text ==
        "# Written by lmesh up: service names resolve to service VIPs.\n"
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "198.19.0.1\tweb.default.svc.cluster.local web\n"
        "198.19.0.2\tratings.default\n");
}

TEST_CASE("hosts file: bad entries are refused, naming them") {
  auto bad_ip = hosts_file_text({{"web", {"x"}}});
  REQUIRE(!bad_ip);
  CHECK(bad_ip.error().code() == ErrorCode::kInvalidArgument);
  CHECK(bad_ip.error().message().find("\"web\"") != std::string::npos);
  CHECK(!hosts_file_text({{"198.19.0.1", {}}}));
  CHECK(!hosts_file_text({{"198.19.0.1", {"two names"}}}));
  CHECK(!hosts_file_text({{"198.19.0.1", {"a#b"}}}));
  CHECK(hosts_file_text({{"fd00::1", {"v6"}}}));
}

TEST_CASE("parse_hosts reads hosts(5) lines") {
  auto entries = parse_hosts("# comment\n\n198.19.0.1  a b # trailing\n\t198.19.0.2\tc\n");
  REQUIRE(entries);
  REQUIRE(entries->size() == 2);
  CHECK((*entries)[0].ip == "198.19.0.1");
  CHECK((*entries)[0].names == std::vector<std::string>{"a", "b"});
  CHECK((*entries)[1].names == std::vector<std::string>{"c"});
  CHECK(!parse_hosts("198.19.0.1\n"));
}

}  // namespace
}  // namespace lmesh::host
