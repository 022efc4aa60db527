// `lmesh top`'s aggregation and table (src/cli/top_table.h).
#include "cli/top_table.h"

#include <string>

#include <catch2/catch.hpp>

namespace lmesh::cli {
namespace {

TapEvent request(std::string id, std::string direction, std::string source, std::string dest,
                 std::string path, std::string pod = "web-1") {
  TapEvent e;
  e.kind = TapEventKind::kRequestInit;
  e.id = std::move(id);
  e.direction = std::move(direction);
  e.source = std::move(source);
  e.destination = std::move(dest);
  e.method = "GET";
  e.path = std::move(path);
  e.proxy = {std::move(pod), "default", "deploy/web"};
  return e;
}

TapEvent response(const TapEvent& req, int status, uint64_t latency_us) {
  TapEvent e;
  e.kind = TapEventKind::kResponseInit;
  e.id = req.id;
  e.proxy = req.proxy;
  e.status = status;
  e.latency_us = latency_us;
  return e;
}

TapEvent end(const TapEvent& req, uint64_t duration_us) {
  TapEvent e;
  e.kind = TapEventKind::kResponseEnd;
  e.id = req.id;
  e.proxy = req.proxy;
  e.duration_us = duration_us;
  return e;
}

// One whole request: returns whether the table changed at its end.
bool complete(TopTable& t, const TapEvent& req, int status, uint64_t latency_us,
              uint64_t duration_us, std::optional<int> grpc = std::nullopt) {
  CHECK(!t.observe(req));
  CHECK(!t.observe(response(req, status, latency_us)));
  TapEvent e = end(req, duration_us);
  e.grpc_status = grpc;
  return t.observe(e);
}

TEST_CASE("requests are grouped, counted and timed from start to end", "[cli][top]") {
  TopTable t;
  CHECK(complete(t, request("1:1", "outbound", "127.0.0.1:5000", "10.0.0.2:80", "/a"), 200, 900,
                 100));
  CHECK(complete(t, request("1:2", "outbound", "127.0.0.1:5001", "10.0.0.2:80", "/a"), 500, 3000,
                 400));
  CHECK(
      complete(t, request("1:3", "outbound", "127.0.0.1:5002", "10.0.0.2:80", "/a"), 200, 1500, 0));
  // Inbound: the caller's address without its port, the proxy's pod as the destination.
  CHECK(complete(t, request("0:1", "inbound", "10.0.0.9:41000", "127.0.0.1:8080", "/b", "api-1"),
                 200, 50, 5, 13));
  CHECK(t.groups() == 2);
  CHECK(t.render() ==
        "Source     Destination   Method   Path   Count    Best   Worst    Last   Success\n"
        "web-1      10.0.0.2:80   GET      /a         3   1.0ms   3.4ms   1.5ms    66.67%\n"
        "10.0.0.9   api-1         GET      /b         1    55µs    55µs    55µs     0.00%\n");
  CHECK(t.render(1) ==
        "Source   Destination   Method   Path   Count    Best   Worst    Last   Success\n"
        "web-1    10.0.0.2:80   GET      /a         3   1.0ms   3.4ms   1.5ms    66.67%\n");
}

TEST_CASE("ties are in name order and the table does not reshuffle", "[cli][top]") {
  TopTable t;
  complete(t, request("1:1", "outbound", "127.0.0.1:1", "10.0.0.2:80", "/z"), 200, 1, 0);
  complete(t, request("1:2", "outbound", "127.0.0.1:1", "10.0.0.2:80", "/a"), 200, 1, 0);
  CHECK(t.render() ==
        "Source   Destination   Method   Path   Count   Best   Worst   Last   Success\n"
        "web-1    10.0.0.2:80   GET      /a         1    1µs     1µs    1µs   100.00%\n"
        "web-1    10.0.0.2:80   GET      /z         1    1µs     1µs    1µs   100.00%\n");
}

TEST_CASE("an end without its request and other kinds change nothing", "[cli][top]") {
  TopTable t;
  TapEvent orphan = request("9:9", "outbound", "a:1", "b:2", "/");
  CHECK(!t.observe(end(orphan, 1)));
  TapEvent dropped;
  dropped.kind = TapEventKind::kDropped;
  CHECK(!t.observe(dropped));
  CHECK(t.groups() == 0);
  CHECK(t.render() ==
        "Source   Destination   Method   Path   Count   Best   Worst   Last   Success\n");
}

TEST_CASE("past its bound the least recently updated group goes", "[cli][top]") {
  TopTable t(/*max_groups=*/2);
  complete(t, request("1:1", "outbound", "a:1", "d:1", "/one"), 200, 1, 0);
  complete(t, request("1:2", "outbound", "a:1", "d:1", "/two"), 200, 1, 0);
  complete(t, request("1:3", "outbound", "a:1", "d:1", "/one"), 200, 1, 0);  // /one is fresh again
  complete(t, request("1:4", "outbound", "a:1", "d:1", "/three"), 200, 1, 0);
  CHECK(t.groups() == 2);
  std::string table = t.render();
  CHECK_THAT(table, Catch::Contains("/one"));
  CHECK_THAT(table, Catch::Contains("/three"));
  CHECK_THAT(table, !Catch::Contains("/two"));
}

TEST_CASE("address_host drops the port", "[cli][top]") {
  CHECK(address_host("10.0.0.1:8080") == "10.0.0.1");
  CHECK(address_host("[::1]:80") == "::1");
  CHECK(address_host("10.0.0.1") == "10.0.0.1");
  CHECK(address_host("fe80::1") == "fe80::1");
}

}  // namespace
}  // namespace lmesh::cli
